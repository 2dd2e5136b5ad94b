import { median } from './censored-summary.js';
import type { StatisticsResult } from './compare-report.js';
import type { WorkerSpec } from './protocol.js';
import { epochNow } from './protocol.js';
import type { SystemClient } from './systems/client-contract.js';
import { WorkerHandle } from './worker-handle.js';

/** A seeding drain with no completion for this long fails the phase. */
const SEED_STALL_MS = 60_000;

/**
 * `finished` finished runs put in place (each system's fastest honest path, see its client),
 * then `queries` statistics queries, timed one after another; the median is reported.
 */
export async function statisticsPhase(client: SystemClient, finished: number, queries: number, log: (message: string) => void): Promise<StatisticsResult> {
  const ns = await client.open('stats');
  try {
    const t0 = performance.now();
    const seededHow = await ns.seedFinished(finished, drainWith);
    const seedMs = performance.now() - t0;
    log(`${client.label}: statistics: ${finished} finished runs in place after ${(seedMs / 1000).toFixed(1)} s`);
    const queriesMs: number[] = [];
    let counted = 0;
    for (let i = 0; i < queries; i++) {
      const t = performance.now();
      counted = await ns.statistics();
      queriesMs.push(Math.round((performance.now() - t) * 10) / 10);
    }
    if (counted !== finished) throw new Error(`statistics counted ${counted} finished runs, expected ${finished}`);
    const result = { finished, seededHow, seedMs: Math.round(seedMs), call: ns.statisticsCall, queriesMs, medianMs: median(queriesMs) ?? 0, counted };
    log(`${client.label}: statistics over ${finished} finished runs: ${queriesMs.join(', ')} ms`);
    return result;
  } finally {
    await ns.close();
  }
}

/** Runs a worker child on `spec` until it has reported `count` completions. */
async function drainWith(spec: WorkerSpec, count: number): Promise<void> {
  const worker = await WorkerHandle.spawn(`${spec.system} (seeding)`, spec);
  try {
    await worker.start();
    let last = -1;
    let lastChange = epochNow();
    while (worker.progress.completed < count) {
      if (worker.progress.completed !== last) {
        last = worker.progress.completed;
        lastChange = epochNow();
      } else if (epochNow() - lastChange > SEED_STALL_MS) {
        throw new Error(`seeding stalled at ${last} of ${count} completions`);
      }
      await worker.until((p) => p.completed >= count, epochNow() + 1000, epochNow);
    }
  } finally {
    await worker.stop().catch(() => {});
  }
}
