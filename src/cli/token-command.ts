import { Option, type Command } from 'commander';
import { API_ROLES, generateToken, hashToken } from '../api/auth/tokens.js';
import { compileConfig, ConfigError } from '../config/load-config.js';
import { createOutput } from './output.js';
import { UsageError } from './usage-error.js';

/**
 * `taskplane token create`: makes an API token on this machine (no server involved). The token is
 * printed once, for the client (`--token` / `TASKPLANE_TOKEN`); the config keeps only its SHA-256
 * (`node.api.tokens`), so a leaked config file grants nothing.
 */
export function addTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens');

  token
    .command('create')
    .description('make an API token; prints it once, with the node.api.tokens entry that grants it')
    .requiredOption('--name <name>', 'who or what uses it (shown in the audit log)')
    .addOption(new Option('--role <role>', 'what it may do').choices([...API_ROLES]).default('operator'))
    .action((options: { name: string; role: (typeof API_ROLES)[number] }, command: Command) => {
      const out = createOutput(command.optsWithGlobals<{ json?: boolean }>().json === true);
      const value = generateToken();
      const entry = { name: options.name, role: options.role, sha256: hashToken(value) };
      // The config module's own checks: a name the config would refuse is refused here.
      try {
        compileConfig({ node: { api: { auth: 'off', tokens: [entry] } } });
      } catch (error) {
        if (error instanceof ConfigError) throw new UsageError(`--name '${entry.name}' ${error.reason}`);
        throw error;
      }
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
