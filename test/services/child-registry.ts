import type { ChildProcess } from 'node:child_process';

// Servers started by tests must never outlive the run: a leftover FerretDB
// keeps its port and SQLite files, and a CI job would hang on it.
const children = new Set<ChildProcess>();
const forwardedSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  // Only re-raise when nobody else (vitest, the CLI) handles the signal,
  // otherwise their shutdown logic would be cut short.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', killAll);
  for (const signal of forwardedSignals) process.once(signal, onSignal);
}

export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}
