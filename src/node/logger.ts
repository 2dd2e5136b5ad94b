import { pino, type Logger } from 'pino';
import type { NodeConfig } from '../config/node-config.js';

/**
 * Structured logs (pino, JSON lines). On a terminal they are pretty-printed when pino-pretty is
 * installed (a dev dependency), so development stays readable and production stays parseable.
 */
export function createLogger(config: Pick<NodeConfig, 'logLevel' | 'nodeId'>, options: { pretty?: boolean } = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY && canResolve('pino-pretty'));
  return pino({
    level: config.logLevel,
    base: { node: config.nodeId },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } } : {}),
  });
}

function canResolve(name: string): boolean {
  try {
    import.meta.resolve(name);
    return true;
  } catch {
    return false;
  }
}
