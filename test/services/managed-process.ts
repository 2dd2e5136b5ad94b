import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { trackChild } from './child-registry.js';
import { ServiceStartError, errorMessage } from './errors.js';
import { tail } from './run-command.js';

export interface LaunchSpec {
  /** Used in error messages, e.g. "FerretDB on 127.0.0.1:27017". */
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr go here (appended) instead of cluttering test output. */
  logFile: string;
  /**
   * One readiness attempt; throws while the server is not ready yet. Must
   * check that the answering server has process id `pid`: otherwise another
   * server already on the port looks like ours coming up.
   */
  probe: (pid: number) => Promise<void>;
  readyTimeoutMs: number;
}

// Time a server gets to exit on SIGTERM before it is SIGKILLed.
const GRACEFUL_STOP_MS = 10_000;
const PROBE_INTERVAL_MS = 100;

/** What a test sees of a server it started: where it listens and how to kill, restart and stop it. */
export interface ServiceProcess {
  url: string;
  port: number;
  /** Sends `signal` (default SIGTERM) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts again on the same port. */
  restart(): Promise<void>;
  /** Kills the server and removes what it created. */
  stop(): Promise<void>;
}

/** A server child process that can be killed and started again with the same arguments. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  // exitCode/signalCode stay null for a child that failed to spawn at all.
  private alive = false;

  constructor(private readonly spec: LaunchSpec) {}

  get running(): boolean {
    return this.alive;
  }

  async logTail(lines = 30): Promise<string> {
    try {
      return tail(await readFile(this.spec.logFile, 'utf8'), lines);
    } catch {
      return '(no log output)';
    }
  }

  /** Spawns the process and resolves once `probe` succeeds. */
  async start(): Promise<void> {
    if (this.running) throw new ServiceStartError(`${this.spec.name} is already running`);
    const child = this.spawnChild();
    let exitReason: string | undefined;
    this.alive = true;
    this.exited = new Promise((resolve) => {
      child.on('error', (err) => {
        exitReason ??= `could not be spawned: ${err.message}`;
        this.alive = false;
        resolve();
      });
      child.once('exit', (code, signal) => {
        exitReason ??= `exited early with ${signal ?? `code ${code}`}`;
        this.alive = false;
        resolve();
      });
    });
    const deadline = Date.now() + this.spec.readyTimeoutMs;
    let lastProbeError: unknown;
    for (;;) {
      // A crashed server would otherwise be probed until the deadline.
      const outcome = await Promise.race([
        this.spec.probe(child.pid ?? -1).then(() => 'ready' as const, (err: unknown) => {
          lastProbeError = err;
          return 'not-ready' as const;
        }),
        this.exited.then(() => 'exited' as const),
      ]);
      if (outcome === 'ready') return;
      if (outcome === 'exited') {
        throw new ServiceStartError(
          `${this.spec.name} ${exitReason ?? 'exited'} (log ${this.spec.logFile}):\n${await this.logTail()}`,
        );
      }
      if (Date.now() > deadline) {
        await this.kill('SIGKILL');
        throw new ServiceStartError(
          `${this.spec.name} did not become ready within ${this.spec.readyTimeoutMs} ms ` +
            `(last probe error: ${errorMessage(lastProbeError)}; log ${this.spec.logFile}):\n${await this.logTail()}`,
          { cause: lastProbeError },
        );
      }
      await sleep(PROBE_INTERVAL_MS);
    }
  }

  /** Sends `signal` and waits for the exit; escalates to SIGKILL if SIGTERM is ignored. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    if (signal === 'SIGKILL') return this.exited;
    const timer = setTimeout(() => child.kill('SIGKILL'), GRACEFUL_STOP_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private spawnChild(): ChildProcess {
    const log = openSync(this.spec.logFile, 'a');
    try {
      writeSync(log, `\n--- ${new Date().toISOString()} starting ${this.spec.command} ${this.spec.args.join(' ')}\n`);
      const child = spawn(this.spec.command, this.spec.args, { stdio: ['ignore', log, log] });
      this.child = child;
      trackChild(child);
      return child;
    } finally {
      // The child holds its own copy of the descriptor.
      closeSync(log);
    }
  }
}
