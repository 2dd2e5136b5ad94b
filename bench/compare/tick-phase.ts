import { setTimeout as sleep } from 'node:timers/promises';
import { summarizeAll } from './censored-summary.js';
import { errorsOf, type TickResult } from './compare-report.js';
import { epochNow, type WorkerReport } from './protocol.js';
import type { Namespace, SystemClient } from './systems/client-contract.js';
import { WorkerHandle } from './worker-handle.js';

/** A tick whose handler starts this late after the window still counts (later ones are missed). */
const LATE_MS = 2000;

/**
 * Every system ticks `* * * * * *` for `ticks` seconds, all at the same time: one worker per
 * system (Taskplane's node with the scheduler role too), each on its own namespace. Ticking is
 * light (one run a second each), and running them side by side keeps the 60 ticks of the issue
 * inside the time budget; every system sees the same neighbours, so none is favoured.
 *
 * Drift is handler start − the instant the tick was scheduled for, over the ticks scheduled in
 * the window, which opens at the first whole second after every worker has started (+1 s).
 */
export async function tickPhase(clients: readonly SystemClient[], ticks: number, log: (message: string) => void): Promise<Map<string, TickResult | Error>> {
  const stands: Array<{ client: SystemClient; ns: Namespace; worker: WorkerHandle | null }> = [];
  const results = new Map<string, TickResult | Error>();
  try {
    for (const client of clients) {
      try {
        const ns = await client.open('ticks');
        const stand = { client, ns, worker: null as WorkerHandle | null };
        stands.push(stand);
        stand.worker = await WorkerHandle.spawn(client.label, ns.workerSpec({ tick: true }));
        await stand.worker.start();
        await ns.startTicks();
      } catch (error) {
        results.set(client.id, error as Error);
      }
    }
    const begin = Math.ceil(epochNow() / 1000) * 1000 + 1000;
    const end = begin + ticks * 1000;
    log(`ticks: ${stands.length} systems ticking; window of ${ticks} s opens in ${Math.round((begin - epochNow()) / 1000)} s`);
    await sleep(end + LATE_MS - epochNow());
    for (const { client, ns, worker } of stands) {
      if (!worker || results.has(client.id)) continue;
      try {
        await ns.stopTicks();
        const report = await worker.report();
        const final = await worker.stop();
        const result = { ...(await summarize(report, ns, begin, end, ticks)), rssPeakMiB: final.rssPeakMiB };
        results.set(client.id, result);
        log(`${client.label}: ticks: ${result.observed}/${ticks}, start drift p50 ${result.startDriftMs?.p50} ms, p99 ${result.startDriftMs?.p99} ms`);
      } catch (error) {
        results.set(client.id, error as Error);
      }
    }
  } finally {
    for (const { ns, worker } of stands) {
      await worker?.stop().catch(() => {});
      await ns.close().catch(() => {});
    }
  }
  return results;
}

async function summarize(report: WorkerReport, ns: Namespace, begin: number, end: number, expected: number): Promise<TickResult> {
  const seen = new Set<number>();
  let duplicates = 0;
  const startDrift: number[] = [];
  const inWindow = report.ticks.filter((tick) => tick.scheduledAt !== null && tick.scheduledAt >= begin && tick.scheduledAt < end);
  for (const tick of inWindow) {
    if (seen.has(tick.scheduledAt!)) {
      duplicates++;
      continue;
    }
    seen.add(tick.scheduledAt!);
    startDrift.push(tick.startedAt - tick.scheduledAt!);
  }
  const created = await ns.tickCreatedAt(inWindow.map((tick) => tick.id));
  const fireDrift = created ? inWindow.flatMap((tick) => (created.has(tick.id) ? [created.get(tick.id)! - tick.scheduledAt!] : [])) : null;
  return {
    expected,
    observed: seen.size,
    missed: expected - seen.size,
    duplicates,
    startDriftMs: summarizeAll(startDrift),
    fireDriftMs: fireDrift ? summarizeAll(fireDrift) : null,
    rssPeakMiB: report.rssPeakMiB,
    errors: errorsOf(report),
  };
}
