import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ManagedProcess, type ServiceProcess } from './managed-process.js';
import { ensureRedisServer } from './provision.js';
import { startWithPort } from './start-with-port.js';

export interface RedisOptions {
  port?: number;
}

/** `url` is e.g. `redis://127.0.0.1:40124`; data is not persisted, so a restart comes back empty. */
export interface RedisProcess extends ServiceProcess {
  /** Working dir holding redis.log; removed by stop(). */
  dir: string;
}

const READY_TIMEOUT_MS = 20_000;

/**
 * One PING without ioredis' reconnect loop, so a dead server fails fast.
 * With `expectedPid`, also checks that this very process answers.
 */
export async function pingRedis(url: string, timeoutMs: number, expectedPid?: number): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // ioredis reports a refused connection as a bare "Connection is closed";
  // the socket error it emitted first says what actually went wrong.
  let socketError: Error | undefined;
  client.on('error', (err: Error) => (socketError ??= err));
  try {
    await client.connect();
    await client.ping();
    if (expectedPid !== undefined) {
      const pid = /^process_id:(\d+)/m.exec(await client.info('server'))?.[1];
      if (Number(pid) !== expectedPid) {
        throw new Error(`port is answered by another process (pid ${pid ?? '?'}), not by pid ${expectedPid}`);
      }
    }
  } catch (err) {
    throw socketError ? new Error(socketError.message, { cause: err }) : err;
  } finally {
    client.disconnect();
  }
}

/** Starts a throwaway redis-server (no persistence) on 127.0.0.1 and waits until it answers PING. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisProcess> {
  const binary = await ensureRedisServer();
  const dir = await mkdtemp(join(tmpdir(), 'taskplane-redis-'));
  let started;
  try {
    started = await startWithPort(opts.port, async (port) => {
      const url = `redis://127.0.0.1:${port}`;
      const server = new ManagedProcess({
        name: `redis-server on 127.0.0.1:${port}`,
        command: binary,
        args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'],
        logFile: join(dir, 'redis.log'),
        probe: (pid) => pingRedis(url, 1_000, pid),
        readyTimeoutMs: READY_TIMEOUT_MS,
      });
      await server.start();
      return { port, url, server };
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const { port, url, server } = started;
  return {
    url,
    port,
    dir,
    kill: (signal) => server.kill(signal),
    async restart() {
      await server.kill();
      await server.start();
    },
    async stop() {
      await server.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
