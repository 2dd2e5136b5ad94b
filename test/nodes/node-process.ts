import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { trackChild } from '../services/child-registry.js';
import { projectRoot } from '../services/project-root.js';

/**
 * Starts a real Taskplane node process (`node --import tsx src/main.ts --config FILE`), the way
 * an operator would, and waits until it logs `node started`. Output goes to a log file that a
 * failing test prints.
 */
export interface NodeProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly configFile: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  logs(): string;
  /** The GraphQL URL the node logged (`api listening`), for nodes with the api role. */
  graphqlUrl(): string;
}

export async function startNodeProcess(options: {
  name: string;
  config: object;
  env?: Record<string, string>;
  /** @defaultValue 30000 */
  readyTimeoutMs?: number;
}): Promise<NodeProcess> {
  const dir = mkdtempSync(join(tmpdir(), `tp-node-${options.name}-`));
  const configFile = join(dir, 'taskplane.yaml');
  writeFileSync(configFile, stringify(options.config));
  const logFile = join(dir, 'node.log');
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', configFile], {
    cwd: projectRoot,
    env: { ...process.env, TASKPLANE_LOG_LEVEL: 'info', ...options.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // The GraphQL URL as the node logged it; read from stdout, not the log file, whose writes may
  // not have reached the disk when `node started` is seen.
  let url: string | null = null;
  const ready = new Promise<void>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      buffer += chunk.toString();
      url ??= /"url":"(http:[^"]+\/graphql)"/.exec(buffer)?.[1] ?? null;
      if (buffer.includes('"node started"')) resolve();
      if (buffer.length > 1_000_000) buffer = buffer.slice(-1000);
    });
    child.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
    void exited.then(({ code, signal }) => reject(new Error(`node ${options.name} exited (${code ?? signal}) before it was ready:\n${readFileSync(logFile, 'utf8').slice(-4000)}`)));
  });
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ready,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`node ${options.name} not ready after ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8').slice(-4000)}`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    name: options.name,
    pid: child.pid!,
    child,
    logFile,
    configFile,
    exited,
    logs: () => readFileSync(logFile, 'utf8'),
    graphqlUrl() {
      if (url === null) throw new Error(`node ${options.name} logged no GraphQL URL (does it have the api role?)`);
      return url;
    },
    async stop(signal = 'SIGTERM', stopTimeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timeout = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timeout);
      }
    },
  };
}
