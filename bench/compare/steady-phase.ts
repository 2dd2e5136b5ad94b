import { setTimeout as sleep } from 'node:timers/promises';
import { summarizeAll, summarizeCensored } from './censored-summary.js';
import { errorsOf, type SteadyResult } from './compare-report.js';
import { epochNow } from './protocol.js';
import type { SystemClient } from './systems/client-contract.js';
import { WorkerHandle } from './worker-handle.js';

/** Lets a just-started worker subscribe and make its first (empty) claim before the load begins. */
const SETTLE_MS = 500;

/**
 * Steady load: one create every 1000/rate ms for `seconds`, each sent at its planned time without
 * waiting for earlier ones (a slow create must not lower the offered load), each carrying
 * `{ t }`, the client's clock just before the call. Then up to `graceSeconds` for the rest to
 * start and finish; runs that did not count as later than the window (see censored-summary.ts).
 */
export async function steadyPhase(
  client: SystemClient,
  load: { readonly rate: number; readonly seconds: number; readonly graceSeconds: number },
  log: (message: string) => void,
): Promise<SteadyResult> {
  const ns = await client.open('steady');
  try {
    const worker = await WorkerHandle.spawn(client.label, ns.workerSpec({ tick: false }));
    let stopped = false;
    try {
      await worker.start();
      await sleep(SETTLE_MS);
      const offered = Math.round(load.rate * load.seconds);
      const ids: string[] = [];
      const callMs: number[] = [];
      const calls: Array<Promise<void>> = [];
      let createErrors = 0;
      let firstCreateError: string | null = null;
      const t0 = performance.now();
      const firstAt = epochNow();
      let last = t0;
      for (let i = 0; i < offered; i++) {
        const wait = t0 + (i * 1000) / load.rate - performance.now();
        if (wait > 0) await sleep(wait);
        last = performance.now();
        calls.push(
          (async () => {
            const sent = performance.now();
            try {
              ids.push(await ns.enqueueOne({ t: epochNow(), i }));
              callMs.push(performance.now() - sent);
            } catch (error) {
              createErrors++;
              firstCreateError ??= error instanceof Error ? error.message : String(error);
            }
          })(),
        );
      }
      await Promise.all(calls);
      const created = ids.length;
      log(`${client.label}: steady: created ${created} of ${offered} at ${load.rate} runs/s${createErrors > 0 ? ` (${createErrors} creates failed: ${firstCreateError})` : ''}`);
      const deadline = firstAt + (load.seconds + load.graceSeconds) * 1000;
      const completed = () => ns.completions()?.completed ?? worker.progress.completed;
      while (epochNow() < deadline && (worker.progress.started < created || completed() < created)) {
        await worker.until((p) => p.started >= created && p.completed >= created, Math.min(deadline, epochNow() + 50), epochNow);
      }
      const windowMs = epochNow() - firstAt;
      const report = await worker.report();
      const fromStore = await ns.finishLatencies(ids);
      const final = await worker.stop();
      stopped = true;
      const result: SteadyResult = {
        rate: load.rate,
        seconds: load.seconds,
        offered,
        created,
        issuedPerSecond: Math.round(((Math.max(0, offered - 1) * 1000) / Math.max(1, last - t0)) * 10) / 10,
        createCallMs: summarizeAll(callMs),
        createToStartMs: summarizeCensored(report.createToStartMs, offered, windowMs),
        createToFinishMs: summarizeCensored(fromStore ?? report.createToFinishMs, offered, windowMs),
        finishSource: fromStore ? 'stored `finishedAt` − `args.t`, read back with `getMany`' : 'the finish time the library stored, from its completion event',
        rssPeakMiB: final.rssPeakMiB,
        errors: { ...errorsOf(report), errors: report.errors + createErrors, firstError: firstCreateError ?? report.firstError },
      };
      const s = result.createToStartMs;
      log(`${client.label}: steady: create→start p50 ${s.p50 ?? '>window'} ms, p99 ${s.p99 ?? '>window'} ms (${s.observed}/${s.offered} started in ${Math.round(windowMs / 1000)} s)`);
      return result;
    } finally {
      if (!stopped) await worker.stop().catch(() => {});
    }
  } finally {
    await ns.close();
  }
}
