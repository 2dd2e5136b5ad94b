import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { trackChild } from '../services/child-registry.js';
import { projectRoot } from '../services/project-root.js';

/**
 * Runs the real `taskplane` command (`node bin/taskplane.js …`) as a child process, as an
 * operator's shell would, and collects its exit code and output. Asynchronous on purpose: the
 * node it talks to may live in the test's own process.
 */

export const BIN = join(projectRoot, 'bin', 'taskplane.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function spawnCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: projectRoot,
    // No NODE_OPTIONS from the test runner; no TASKPLANE_* from the developer's shell.
    env: { ...withoutTaskplaneVars(process.env), NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  return child;
}

export function runCli(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`taskplane ${args.join(' ')} did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      // 'exit' may come before the pipes are drained; 'close' comes after both.
      child.once('close', () => resolve({ code, stdout, stderr }));
      if (child.stdout!.readableEnded && child.stderr!.readableEnded) resolve({ code, stdout, stderr });
    });
  });
}

function withoutTaskplaneVars(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !/^(TASKPLANE_|PORT$|RUNNER_|WORKER_)/.test(entry[0])));
}
