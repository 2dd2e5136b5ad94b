import { interruptedBy, runAllCleanups } from './cleanup.js';

/** Runs a benchmark's `main`; on failure (not an interrupt) prints it, cleans up and sets exit code 1. */
export async function runBench(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (!interruptedBy()) {
      process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      await runAllCleanups();
      process.exitCode = 1;
    }
  }
}
