/**
 * The `taskplane` command: `bin/taskplane.js` loads this through tsx and exits with what
 * `runCli` returns (unless `start` left a node running).
 *
 * Exit codes: 0 done; 1 the cluster refused or could not be reached (the message names the API's
 * error code, e.g. `NOT_FOUND`), or a config file is invalid; 2 the command line is wrong.
 */
import { CommanderError } from 'commander';
import { TaskplaneClientError } from '../client/taskplane-client.js';
import { ConfigError } from '../config/load-config.js';
import { coerceError } from '../core/errors.js';
import { buildProgram, wantsJson } from './program.js';
import { UsageError } from './usage-error.js';

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (or the help / version, with exit code 0).
      return error.exitCode === 0 ? 0 : 2;
    }
    const json = wantsJson(program, argv);
    const { code, message, exitCode } = describe(error);
    process.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `taskplane: ${code}: ${message}\n`);
    return exitCode;
  }
}

function describe(error: unknown): { code: string; message: string; exitCode: number } {
  if (error instanceof UsageError) return { code: 'USAGE', message: error.message, exitCode: 2 };
  if (error instanceof TaskplaneClientError) return { code: error.code, message: error.message, exitCode: 1 };
  if (error instanceof ConfigError) return { code: error.code, message: error.message, exitCode: 1 };
  const err = coerceError(error);
  return { code: (err as { code?: string }).code ?? 'ERROR', message: err.message, exitCode: 1 };
}
