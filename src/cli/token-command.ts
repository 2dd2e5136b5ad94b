import { Option, type Command } from 'commander';
import { API_ROLES, generateToken, hashToken } from '../api/auth/tokens.js';
import { generateRunnerToken } from '../api/runner-gateway/runner-tokens.js';
import { compileConfig, ConfigError } from '../config/load-config.js';
import { createOutput } from './output.js';
import { UsageError } from './usage-error.js';

/**
 * `taskplane token create`: makes a token on this machine (no server involved). The token is
 * printed once; the config keeps only its SHA-256, so a leaked config file grants nothing.
 *
 * - An API token (`--role`) is for GraphQL clients (`--token` / `TASKPLANE_TOKEN`) and goes under
 *   `node.api.tokens`.
 * - A runner token (`--runner --cluster SLUG`) is for remote runners (`TASKPLANE_RUNNER_TOKEN`):
 *   it lets them claim the runs of that one cluster through the api nodes' runner gateway, and
 *   goes under `node.api.runner_tokens`.
 */
export function addTokenCommands(program: Command): void {
  const token = program.command('token').description('API and runner tokens');

  token
    .command('create')
    .description('make an API token (or, with --runner, a runner token); prints it once, with the config entry that grants it')
    .requiredOption('--name <name>', 'who or what uses it (shown in the audit log)')
    .addOption(new Option('--role <role>', 'what an API token may do').choices([...API_ROLES]).default('operator'))
    .option('--runner', 'make a runner token: remote runners claim the runs of one cluster with it')
    .option('--cluster <slug>', "the cluster a runner token's runners may claim runs of (with --runner)")
    .action((options: { name: string; role: (typeof API_ROLES)[number]; runner?: boolean; cluster?: string }, command: Command) => {
      const out = createOutput(command.optsWithGlobals<{ json?: boolean }>().json === true);
      if (options.runner) {
        if (command.getOptionValueSource('role') === 'cli') throw new UsageError('--role is for API tokens; a runner token is scoped by --cluster instead');
        if (options.cluster === undefined) throw new UsageError('--runner needs --cluster SLUG: the cluster whose runs the token may claim');
        createRunnerToken(out, options.name, options.cluster);
        return;
      }
      if (options.cluster !== undefined) throw new UsageError('--cluster scopes a runner token: add --runner');
      const value = generateToken();
      const entry = { name: options.name, role: options.role, sha256: hashToken(value) };
      // The config module's own checks: a name the config would refuse is refused here.
      checkEntry(() => compileConfig({ node: { api: { auth: 'off', tokens: [entry] } } }), { name: entry.name });
      out.fields(
        [
          ['token', value],
          ['config', `node.api.tokens: - { name: ${entry.name}, role: ${entry.role}, sha256: ${entry.sha256} }`],
        ],
        { ...entry, token: value },
      );
      out.note('The token is shown once. Give it to the client (--token or TASKPLANE_TOKEN); add the entry to the config of every api node.');
    });
}

function createRunnerToken(out: ReturnType<typeof createOutput>, name: string, cluster: string): void {
  const value = generateRunnerToken();
  const entry = { name, cluster, sha256: hashToken(value) };
  checkEntry(() => compileConfig({ node: { api: { auth: 'off', runner_tokens: [entry] } } }), { name, cluster });
  out.fields(
    [
      ['token', value],
      ['config', `node.api.runner_tokens: - { name: ${entry.name}, cluster: ${entry.cluster}, sha256: ${entry.sha256} }`],
    ],
    { ...entry, token: value },
  );
  out.note(
    `The token is shown once. Give it to the runners of cluster ${cluster} (TASKPLANE_RUNNER_TOKEN, with TASKPLANE_RUNNER_API_URL); ` +
      'add the entry to the config of every api node. The cluster must exist before its runners start.',
  );
}

/** Runs the config's checks on a new entry; a refusal names the option at fault and its value. */
function checkEntry(compile: () => unknown, options: Readonly<Record<string, string>>): void {
  try {
    compile();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const field = /\.(\w+)$/.exec(error.key)?.[1] ?? 'name';
    throw new UsageError(`--${field} '${options[field] ?? ''}' ${error.reason}`);
  }
}
