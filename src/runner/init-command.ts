import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { WorkerGroupConfig } from '../catalog/contract.js';
import { TaskplaneError } from '../core/errors.js';

/**
 * A worker group's init command: run once by each of its runners at start, before claiming, via
 * `/bin/sh -c` (so it may be a small script: `pip install -r req.txt && ./warm-cache`). Its
 * stdout and stderr are logged line by line as they come. A non-zero exit, a death by signal or
 * running past `timeoutMs` fails the start with `InitCommandError`, which names the command, how
 * it ended and its last lines of output.
 *
 * The command runs in its own process group, so a timeout or a shutdown kills what it started
 * too, not only the shell.
 */
export interface InitCommandOptions {
  readonly command: string;
  /** The worker group that names it, for messages. */
  readonly group: string;
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Aborting kills the command (the runner is shutting down). */
  readonly signal?: AbortSignal;
  /** Output lines kept for the failure message. @defaultValue 20 */
  readonly keepLines?: number;
}

/** Longest line logged whole; the rest is cut, so one runaway line cannot flood the log. */
const MAX_LINE = 4000;

export class InitCommandError extends TaskplaneError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly lastLines: readonly string[];

  constructor(message: string, details: { command: string; exitCode: number | null; lastLines: readonly string[] }) {
    super('INTERNAL', message);
    this.command = details.command;
    this.exitCode = details.exitCode;
    this.lastLines = details.lastLines;
  }
}

export async function runInitCommand(options: InitCommandOptions): Promise<void> {
  const { command, group, timeoutMs, log, signal } = options;
  const keep = options.keepLines ?? 20;
  const shown = command.length > 200 ? `${command.slice(0, 200)}…` : command;
  const lastLines: string[] = [];
  const startedAt = Date.now();
  log.info({ group, command: shown, timeoutMs }, 'running the worker group init command');

  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const streams = (['stdout', 'stderr'] as const).map(
    (stream) =>
      new Promise<void>((resolve) => {
        const lines = createInterface({ input: child[stream], crlfDelay: Infinity });
        lines.on('line', (raw: string) => {
          const line = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}…` : raw;
          log.info({ group, stream, line }, 'init command output');
          lastLines.push(line);
          if (lastLines.length > keep) lastLines.shift();
        });
        lines.once('close', resolve);
      }),
  );

  let ending: 'timeout' | 'aborted' | null = null;
  const killGroup = () => {
    try {
      // Negative pid: the whole process group the command started.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  const timer = setTimeout(() => {
    ending = 'timeout';
    killGroup();
  }, timeoutMs);
  const onAbort = () => {
    ending ??= 'aborted';
    killGroup();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, killedBy) => resolve({ code, signal: killedBy }));
  });
  clearTimeout(timer);
  signal?.removeEventListener('abort', onAbort);
  // Output still in the pipes is logged before deciding; a background process that keeps them
  // open is not waited for.
  await Promise.race([Promise.all(streams), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);

  const output = lastLines.length > 0 ? ` Last output:\n${lastLines.map((line) => `  ${line}`).join('\n')}\n` : ' It printed nothing.\n';
  const fail = (how: string, exitCode: number | null) =>
    new InitCommandError(
      `init command of worker group '${group}' ${how} (command: ${shown}).${output}` +
        'The runner stops. Fix the command (mutation { workerGroup { put(…) } }), or start this runner without RUNNER_ALLOW_INIT_COMMAND.',
      { command, exitCode, lastLines: [...lastLines] },
    );

  if (exit.error) throw fail(`could not be started: ${exit.error.message}`, null);
  if (ending === 'timeout') {
    const limit = timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`;
    throw fail(`did not finish within ${limit} and was killed`, exit.code);
  }
  if (ending === 'aborted') throw new TaskplaneError('INTERNAL', `init command of worker group '${group}' interrupted: the runner is shutting down`);
  if (exit.code !== 0) {
    throw fail(exit.code === null ? `was killed by ${exit.signal ?? 'a signal'}` : `exited with code ${exit.code}`, exit.code);
  }
  log.info({ group, ms: Date.now() - startedAt }, 'init command finished');
}

/**
 * Runs a group's init command at a runner's start when the runner's config allows it; when it
 * does not, logs a warning that says so and why. Nothing to do when the group names none.
 */
export async function runGroupInitCommand(
  group: WorkerGroupConfig | null,
  options: { readonly allowed: boolean; readonly timeoutMs: number; readonly log: Logger; readonly signal?: AbortSignal },
): Promise<void> {
  if (group?.initCommand == null) return;
  if (!options.allowed) {
    options.log.warn(
      { group: group.name },
      `worker group '${group.name}' names an init command, but this runner's config does not allow init commands ` +
        '(node.runner.allow_init_command / RUNNER_ALLOW_INIT_COMMAND is false); skipped it',
    );
    return;
  }
  const { allowed: _allowed, ...rest } = options;
  await runInitCommand({ command: group.initCommand, group: group.name, ...rest });
}
