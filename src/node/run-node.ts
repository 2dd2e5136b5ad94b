import { formatConfigError } from '../config/check-config.js';
import { ConfigError, loadConfig, type LoadConfigOptions } from '../config/load-config.js';
import { coerceError } from '../core/errors.js';
import { TaskplaneNode } from './taskplane-node.js';

/**
 * Runs one node as a process: `npm start` (src/main.ts) and `taskplane start` both come here.
 *
 * Signals: SIGTERM / SIGINT drain and exit; SIGHUP re-reads the config file and applies its task
 * definitions without a restart. Bad config exits with code 2 and a message naming the file, the
 * key and the problem; a node that fails to start exits with 1.
 */
export async function runNode(options: Required<LoadConfigOptions>): Promise<void> {
  let config;
  try {
    config = loadConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${formatConfigError(error)}\n`);
      process.exit(2);
    }
    throw error;
  }

  const node = new TaskplaneNode(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.log.info({ signal }, 'shutting down');
    node.close().then(
      () => process.exit(0),
      (error: unknown) => {
        node.log.error({ err: coerceError(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    try {
      const fresh = loadConfig(options);
      node.applyDefinitions(fresh.tasks).then(
        (result) => node.log.info(result, 'config reloaded (SIGHUP)'),
        (error: unknown) => node.log.error({ err: coerceError(error) }, 'config reload failed; keeping the current definitions'),
      );
    } catch (error) {
      const message = error instanceof ConfigError ? formatConfigError(error) : coerceError(error).message;
      node.log.error({ problem: message }, 'config reload refused; keeping the current definitions');
    }
  });

  try {
    await node.start();
  } catch (error) {
    const err = coerceError(error);
    node.log.fatal({ err }, `node failed to start: ${err.message}`);
    process.stderr.write(`taskplane: node failed to start: ${err.message}\n`);
    process.exit(err instanceof ConfigError || (err as { code?: string }).code === 'CONFIG_INVALID' ? 2 : 1);
  }
  node.log.info({ ...node.info() }, 'node started');
}
