import type { ConfigError } from './load-config.js';

/**
 * The message a node prints before it exits with status 2 on bad config: one paragraph that
 * says where the problem is (file and key, environment variable, or command-line option), what
 * is wrong, and what else was found, so an operator can fix everything in one go.
 */
export function formatConfigError(error: ConfigError): string {
  const where = /^[A-Z][A-Z0-9_]*$/.test(error.key)
    ? `environment variable ${error.key}`
    : error.key.startsWith('--')
      ? `command-line option ${error.key}`
      : `${error.key} in ${error.file ?? 'the built-in default config'}`;
  const others = error.problems.slice(1);
  const listed = others.slice(0, 5).map((p) => `${p.key}: ${p.reason}`);
  if (others.length > listed.length) listed.push(`and ${others.length - listed.length} more`);
  const more = others.length === 0 ? '' : ` Also ${others.length === 1 ? 'found' : `found ${others.length} more problems`}: ${sentence(listed.join('; '))}`;
  return `Taskplane cannot start: bad config at ${where}: ${sentence(error.reason)}${more} Fix ${error.file ? 'the file' : 'it'} and start the node again.`;
}

function sentence(text: string): string {
  return /[.?!]$/.test(text) ? text : `${text}.`;
}
