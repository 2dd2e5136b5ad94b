import type { JsonValue } from '../../src/core/types.js';
import { median } from './censored-summary.js';
import { errorsOf, type DrainRepetition, type DrainResult, type Rate } from './compare-report.js';
import { epochNow } from './protocol.js';
import type { ClassCounts } from './settings.js';
import type { Namespace, SystemClient } from './systems/client-contract.js';
import { WorkerHandle } from './worker-handle.js';

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const rateOf = (runs: number, ms: number): Rate => ({ runs, ms: round(ms), perSecond: round(ms > 0 ? (runs * 1000) / ms : 0) });

/**
 * Enqueue N runs (the bulk path for `runs − oneByOne` of them where the library has one, then
 * `oneByOne` awaited one at a time), then start a worker on that backlog and time the drain: from
 * its first handler call to the completion that empties the backlog. A drain still going after
 * the cap is cut off there and its rate counts what completed. Repeated on fresh namespaces.
 */
export async function drainPhase(client: SystemClient, counts: ClassCounts, log: (message: string) => void): Promise<DrainResult> {
  const repetitions: DrainRepetition[] = [];
  let calls = { bulkCall: '', oneCall: '' };
  for (let rep = 1; rep <= counts.repetitions; rep++) {
    const ns = await client.open(`drain${rep}`);
    try {
      calls = { bulkCall: ns.bulkCall, oneCall: ns.oneCall };
      repetitions.push(await once(client, ns, counts, (message) => log(`${client.label}: drain ${rep}/${counts.repetitions}: ${message}`)));
    } finally {
      await ns.close();
    }
  }
  const medianOf = (pick: (rep: DrainRepetition) => number | null) => {
    const values = repetitions.map(pick).filter((value): value is number => value !== null);
    const value = median(values);
    return value === null ? null : round(value, 3);
  };
  return {
    ...calls,
    repetitions,
    median: {
      bulkPerSecond: medianOf((rep) => rep.bulk?.perSecond ?? null),
      oneByOnePerSecond: medianOf((rep) => rep.oneByOne.perSecond) ?? 0,
      drainPerSecond: medianOf((rep) => rep.drain.perSecond) ?? 0,
      commandsPerCompletedRun: medianOf((rep) => rep.commands?.perCompletedRun ?? null),
      rssPeakMiB: Math.max(...repetitions.map((rep) => rep.rssPeakMiB)),
    },
  };
}

async function once(client: SystemClient, ns: Namespace, counts: ClassCounts, log: (message: string) => void): Promise<DrainRepetition> {
  const bulkCount = ns.enqueueBulk ? counts.runs - counts.oneByOne : 0;
  const oneCount = counts.runs - bulkCount;
  let bulk: Rate | null = null;
  if (ns.enqueueBulk) {
    const t0 = performance.now();
    for (let from = 0; from < bulkCount; from += ns.bulkBatch) {
      const batch: JsonValue[] = Array.from({ length: Math.min(ns.bulkBatch, bulkCount - from) }, (_, i) => ({ i: from + i }));
      await ns.enqueueBulk(batch);
    }
    bulk = rateOf(bulkCount, performance.now() - t0);
    log(`enqueued ${bulkCount} in bulk, ${Math.round(bulk.perSecond)} runs/s`);
  }
  const t1 = performance.now();
  for (let i = 0; i < oneCount; i++) await ns.enqueueOne({ i: bulkCount + i });
  const oneByOne = rateOf(oneCount, performance.now() - t1);
  log(`enqueued ${oneCount} one by one, ${Math.round(oneByOne.perSecond)} runs/s; starting the worker`);

  const target = bulkCount + oneCount;
  const worker = await WorkerHandle.spawn(client.label, ns.workerSpec({ tick: false }));
  let stopped = false;
  try {
    const startSent = epochNow();
    await worker.start();
    const completion = () => ns.completions() ?? { completed: worker.progress.completed, lastAt: worker.progress.lastCompletionAt };
    // The cap counts from the first handler call, so a slow start does not eat the drain's time
    // (and from the start command while there is none, so a worker that never runs anything ends too).
    const deadline = () => (worker.progress.firstStartAt ?? startSent) + counts.drainCapSeconds * 1000;
    let lastLogged = 0;
    for (;;) {
      const { completed } = completion();
      if (completed >= target || epochNow() >= deadline()) break;
      if (completed - lastLogged >= Math.max(100, target / 5)) log(`completed ${(lastLogged = completed)}/${target}`);
      await worker.until((p) => p.completed >= target, Math.min(deadline(), epochNow() + 50), epochNow);
    }
    const report = await worker.report();
    const { completed, lastAt } = completion();
    const firstStartAt = report.firstStartAt;
    const capped = completed < target;
    // The last completion counted ends the window; a cut-off drain's window runs at least to the cut-off.
    const end = capped ? Math.max(deadline(), lastAt ?? 0) : (lastAt ?? epochNow());
    const ms = firstStartAt === null ? counts.drainCapSeconds * 1000 : end - firstStartAt;
    const commands = sumCommands(report.commands) - sumCommands(report.commandsBeforeFirstStart);
    // A library that cannot stop in time (Agenda on FerretDB, with a backlog left after a cut-off)
    // does not void the drain it was measured on: the report just taken has the RSS peak so far.
    let stopFailure: string | null = null;
    const final = await worker.stop().catch((error: unknown) => {
      stopFailure = error instanceof Error ? error.message : String(error);
      return report;
    });
    stopped = true;
    const result: DrainRepetition = {
      bulk,
      oneByOne,
      drain: {
        target,
        completed: Math.min(completed, target),
        ms: round(ms),
        perSecond: round(ms > 0 ? (Math.min(completed, target) * 1000) / ms : 0),
        capped,
        startupMs: firstStartAt === null ? null : round(firstStartAt - startSent),
      },
      commands:
        client.id === 'bullmq'
          ? null
          : {
              total: commands,
              perCompletedRun: round(completed > 0 ? commands / Math.min(completed, target) : 0, 3),
              byName: subtract(report.commands, report.commandsBeforeFirstStart),
              beforeFirstStart: sumCommands(report.commandsBeforeFirstStart),
            },
      rssPeakMiB: final.rssPeakMiB,
      rssBaselineMiB: worker.rssBaselineMiB,
      errors: errorsOf(report),
      stopFailure,
    };
    log(
      `drained ${result.drain.completed}/${target}${capped ? ` (cut off after ${counts.drainCapSeconds} s)` : ''}: ${result.drain.perSecond} runs/s` +
        `${result.commands ? `, ${result.commands.perCompletedRun} MongoDB commands per completed run` : ''}, worker RSS ${result.rssPeakMiB} MiB` +
        `${report.failedCommands > 0 ? `, ${report.failedCommands} failed commands (first: ${report.firstFailedCommand})` : ''}` +
        `${report.errors > 0 ? `, ${report.errors} errors (first: ${report.firstError})` : ''}` +
        `${stopFailure ? `; stopping the worker failed: ${stopFailure} (RSS peak up to the drain's end)` : ''}`,
    );
    return result;
  } finally {
    if (!stopped) await worker.stop().catch(() => {});
  }
}

function sumCommands(byName: Readonly<Record<string, number>>): number {
  return Object.values(byName).reduce((a, b) => a + b, 0);
}

function subtract(total: Readonly<Record<string, number>>, before: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(total).map(([name, count]) => [name, count - (before[name] ?? 0)]).filter(([, count]) => (count as number) > 0));
}
