/**
 * Cleanup that also runs on SIGINT/SIGTERM/SIGHUP: stores to close, databases to drop,
 * servers to stop. Cleanups run newest first; each is bounded so a dead server cannot hang exit.
 */

type Cleanup = () => Promise<void>;

const pending: Array<{ label: string; run: Cleanup }> = [];
const CLEANUP_TIMEOUT_MS = 15_000;
let interrupted: NodeJS.Signals | undefined;

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function bounded(label: string, run: Cleanup): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CLEANUP_TIMEOUT_MS} ms`)), CLEANUP_TIMEOUT_MS);
      }),
    ]);
  } catch (error) {
    log(`cleanup "${label}" failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Registers `run`; returns a function that runs it now (once) and unregisters it. */
export function deferCleanup(label: string, run: Cleanup): () => Promise<void> {
  const entry = { label, run };
  pending.push(entry);
  return async () => {
    const index = pending.indexOf(entry);
    if (index < 0) return;
    pending.splice(index, 1);
    await bounded(label, run);
  };
}

/** Runs every registered cleanup, newest first. */
export async function runAllCleanups(): Promise<void> {
  while (pending.length > 0) {
    const entry = pending.pop()!;
    await bounded(entry.label, entry.run);
  }
}

/** The signal that interrupted the run, if any (errors after it are expected noise). */
export function interruptedBy(): NodeJS.Signals | undefined {
  return interrupted;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** On a signal: run all cleanups, then exit 128+signal. A second signal exits at once. */
export function installSignalHandlers(): void {
  for (const signal of Object.keys(SIGNAL_NUMBERS) as NodeJS.Signals[]) {
    process.on(signal, () => {
      const code = 128 + (SIGNAL_NUMBERS[signal] ?? 0);
      if (interrupted) process.exit(code);
      interrupted = signal;
      log(`${signal}: cleaning up (send it again to exit at once) ...`);
      void runAllCleanups().finally(() => process.exit(code));
    });
  }
}
