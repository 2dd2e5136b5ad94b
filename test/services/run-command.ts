import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

// Build and install logs can be megabytes; only the end explains a failure.
const MAX_CAPTURE = 256 * 1024;

function appendBounded(current: string, chunk: Buffer): string {
  const next = current + chunk.toString('utf8');
  return next.length > MAX_CAPTURE ? next.slice(-MAX_CAPTURE) : next;
}

/** Runs a command to completion; resolves with its exit code even when non-zero. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout = appendBounded(stdout, chunk)));
    child.stderr.on('data', (chunk: Buffer) => (stderr = appendBounded(stderr, chunk)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function describeCommand(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ');
}
