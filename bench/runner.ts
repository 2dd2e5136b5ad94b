/**
 * `npm run bench:runner`: the runner role on 3 MongoDB shards and Redis — throughput of one runner
 * of capacity 100 (a backlog created first; runs created while it runs), create→start and
 * create→finish latency at a light steady load, MongoDB commands per completed run, peak RSS.
 *
 * MongoDB shards are local FerretDB servers and Redis a local redis-server (started and stopped
 * here) unless TASKPLANE_TEST_MONGO_URLS / TASKPLANE_TEST_REDIS_URL name servers. Each scenario
 * works on fresh databases, dropped afterwards. Flags: --runs N (default 2000), --rate R runs/s
 * (default 20), --seconds S (default 15).
 *
 * Prints the Markdown tables to stdout and progress to stderr; writes bench/results/runner-*.json,
 * runner-latest.md, and the README section between the bench:runner markers, if present.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Handler } from '../src/core/handler.js';
import type { NewRun } from '../src/core/run-input.js';
import type { JsonValue } from '../src/core/types.js';
import type { TaskStore } from '../src/storage/contract.js';
import { deferCleanup, installSignalHandlers } from './lib/cleanup.js';
import { runBench } from './lib/run-bench.js';
import { byCommandName, totalCommands, type CommandCounts } from './lib/command-counter.js';
import { describeEnvironment } from './lib/environment.js';
import { acquireMongoServers, MONGO_ENV, type MongoServers } from './lib/mongo-servers.js';
import { summarize } from './lib/percentiles.js';
import { acquireRedis, REDIS_ENV, redisVersion, type RedisServer } from './lib/redis-server.js';
import { renderRunnerMarkdown, type DrainCommands, type LatencyResult, type RunnerBenchReport, type ThroughputResult } from './lib/runner-report.js';
import { readmeOutcome, updateBenchReadme, writeBenchResults } from './lib/results-files.js';
import { RssSampler } from './lib/rss-sampler.js';
import { RunnerStand, type RunnerTimings } from './lib/runner-stand.js';

const SHARDS = 3;
const CAPACITY = 100;
const CREATE_BATCH = 500;
/** A scenario in which no run completes for this long fails the benchmark. */
const STALL_MS = 60_000;
/** A node's defaults (src/config/load-config.ts, src/runner/runner.ts). */
const TIMINGS: RunnerTimings = { pollMs: 1000, drainGraceMs: 10_000, heartbeatMs: 2000, renewEveryMs: 250 };
const FUNC_NAME = 'bench.noop';

const started = performance.now();
const log = (message: string) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : Number.POSITIVE_INFINITY);
// Warnings and errors only, to stderr: stdout carries the table.
const logger = pino({ level: 'warn', base: { bench: 'runner' } }, pino.destination({ dest: 2, sync: true }));

function parseFlags() {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, rate: { type: 'string' }, seconds: { type: 'string' } }, strict: true });
  const positive = (name: string, raw: string | undefined, fallback: number, integer: boolean) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
    }
    return value;
  };
  return { runs: positive('runs', values.runs, 2000, true), rate: positive('rate', values.rate, 20, false), seconds: positive('seconds', values.seconds, 15, false) };
}

/** How the script was started, as a user would type it (URLs are not shown: they may hold credentials). */
function commandLine(): string {
  const env = [...(process.env[MONGO_ENV]?.trim() ? [`${MONGO_ENV}=…`] : []), ...(process.env[REDIS_ENV]?.trim() ? [`${REDIS_ENV}=…`] : [])];
  const flags = process.argv.slice(2);
  const script = process.env['npm_lifecycle_event'] === 'bench:runner' ? `npm run bench:runner${flags.length > 0 ? ' --' : ''}` : 'npx tsx bench/runner.ts';
  return [...env, script, ...flags].join(' ');
}

function commandsPerRun(counts: CommandCounts, completed: number): DrainCommands {
  const total = totalCommands(counts);
  return { total, perCompletedRun: round(total / completed, 3), byName: byCommandName(counts), byShard: counts };
}

async function createRuns(store: TaskStore, count: number): Promise<void> {
  for (let from = 0; from < count; from += CREATE_BATCH) {
    const runs: NewRun[] = Array.from({ length: Math.min(CREATE_BATCH, count - from) }, (_, i) => ({ funcName: FUNC_NAME, args: [from + i] }));
    const failed = (await store.createMany(runs)).filter((result) => !result.created);
    if (failed.length > 0) throw new Error(`createMany: ${failed.length} of ${runs.length} runs not created (first: ${JSON.stringify(failed[0])})`);
  }
}

/**
 * Waits until the runner's completion messages reach `target` (see CompletionWatch), then checks
 * with one `statistics()` that the store agrees; resolves with the time the last one arrived.
 */
async function whenCompleted(bench: RunnerStand, target: number, label: string): Promise<number> {
  let at: number;
  try {
    at = await bench.watch.until(target, STALL_MS, { every: 500, report: (completed) => log(`${label}: completed ${completed}/${target}`) });
  } catch (error) {
    const { total } = await bench.client.statistics().catch(() => ({ total: 'unavailable' }));
    throw new Error(`${label}: ${(error as Error).message}; statistics: ${JSON.stringify(total)}`, { cause: error });
  }
  const { total, unavailable } = await bench.client.statistics();
  if (unavailable.length > 0 || total.completed !== target || total.total !== target) {
    throw new Error(`${label}: ${target} completions announced but statistics say ${JSON.stringify(total)}${unavailable.length > 0 ? `, unavailable ${unavailable.join(', ')}` : ''}`);
  }
  return at;
}

interface Context {
  readonly servers: MongoServers;
  readonly redis: RedisServer;
  readonly rss: RssSampler;
}

const noop: Handler = () => null;

function stand(context: Context, key: string, handler: Handler): Promise<RunnerStand> {
  return RunnerStand.create({
    key,
    servers: context.servers,
    shards: SHARDS,
    redisUrl: context.redis.url,
    handlers: new Map([[FUNC_NAME, handler]]),
    capacity: CAPACITY,
    timings: TIMINGS,
    log: logger,
  });
}

/** `backlog`: create every run, then start the runner. `live`: start the runner, then create. */
async function throughput(context: Context, mode: 'backlog' | 'live', runs: number): Promise<ThroughputResult> {
  const bench = await stand(context, `runner_${mode}`, noop);
  try {
    context.rss.reset();
    let createMs = 0;
    let t0 = performance.now();
    if (mode === 'backlog') {
      await createRuns(bench.client, runs);
      createMs = performance.now() - t0;
      log(`${mode}: created ${runs} runs in ${Math.round(createMs)} ms; starting the runner`);
    }
    const measured = await bench.counter.measure(async () => {
      if (mode === 'backlog') t0 = performance.now();
      bench.runner.start();
      if (mode === 'live') {
        await sleep(500); // let the runner subscribe and make its first (empty) claim
        t0 = performance.now();
        await createRuns(bench.client, runs);
        createMs = performance.now() - t0;
        log(`${mode}: created ${runs} runs in ${Math.round(createMs)} ms while the runner works`);
      }
      return whenCompleted(bench, runs, mode);
    });
    const ms = measured.value - t0;
    const result: ThroughputResult = {
      runs,
      databases: bench.databases,
      createMs: round(createMs),
      ms: round(ms),
      runsPerSecond: round(perSecond(runs, ms)),
      commands: commandsPerRun(measured.counts, runs),
      rssPeakMiB: context.rss.peakMiB(),
    };
    log(`${mode}: ${Math.round(result.runsPerSecond)} runs/s, ${result.commands.perCompletedRun} commands per completed run, peak RSS ${result.rssPeakMiB} MiB`);
    return result;
  } finally {
    await bench.close();
  }
}

async function latency(context: Context, rate: number, seconds: number): Promise<LatencyResult> {
  const createToStart: number[] = [];
  const handler: Handler = (args) => {
    const t = typeof args === 'object' && args !== null && !Array.isArray(args) ? args['t'] : undefined;
    if (typeof t === 'number') createToStart.push(Date.now() - t);
    return null;
  };
  const bench = await stand(context, 'runner_latency', handler);
  try {
    context.rss.reset();
    const planned = Math.round(rate * seconds);
    const measured = await bench.counter.measure(async () => {
      bench.runner.start();
      await sleep(500);
      const ids: string[] = [];
      const callMs: number[] = [];
      const calls: Array<Promise<void>> = [];
      const t0 = performance.now();
      let last = t0;
      // Each create is sent at its planned time, without waiting for earlier ones: a slow create
      // must not lower the offered load.
      for (let i = 0; i < planned; i++) {
        const wait = t0 + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        last = performance.now();
        calls.push(
          (async () => {
            const sent = performance.now();
            const run = await bench.client.create({ funcName: FUNC_NAME, args: { t: Date.now() } as JsonValue });
            callMs.push(performance.now() - sent);
            ids.push(run.id);
          })(),
        );
      }
      await Promise.all(calls);
      log(`latency: created ${ids.length} runs at ${rate} runs/s`);
      await whenCompleted(bench, ids.length, 'latency');
      return { ids, callMs, issuedMs: last - t0 };
    });
    const { ids, callMs, issuedMs } = measured.value;
    const createToFinish: number[] = [];
    for (let from = 0; from < ids.length; from += 500) {
      for (const run of await bench.client.getMany(ids.slice(from, from + 500))) {
        if (run?.finishedAt) createToFinish.push(run.finishedAt.getTime() - run.createdAt.getTime());
      }
    }
    const result: LatencyResult = {
      databases: bench.databases,
      planned,
      created: ids.length,
      issuedPerSecond: round(perSecond(Math.max(0, ids.length - 1), issuedMs)),
      createCallMs: summarize(callMs.map((ms) => round(ms))),
      createToStartMs: summarize(createToStart),
      createToFinishMs: summarize(createToFinish),
      commands: commandsPerRun(measured.counts, ids.length),
      rssPeakMiB: context.rss.peakMiB(),
    };
    const s = result.createToStartMs;
    log(`latency: create→start p50 ${s?.p50} ms, p99 ${s?.p99} ms, max ${s?.max} ms over ${s?.count} runs`);
    return result;
  } finally {
    await bench.close();
  }
}

async function main(): Promise<void> {
  installSignalHandlers();
  const loadAtStart = os.loadavg()[0] ?? 0;
  let loadPeak = loadAtStart;
  const loadTimer = setInterval(() => (loadPeak = Math.max(loadPeak, os.loadavg()[0] ?? 0)), 1000);
  loadTimer.unref();
  const flags = parseFlags();
  const rss = new RssSampler(100);
  log(`runner benchmark: ${flags.runs} runs per throughput scenario; latency at ${flags.rate} runs/s for ${flags.seconds} s`);
  const [mongoStart, redisStart] = await Promise.allSettled([acquireMongoServers(SHARDS), acquireRedis()]);
  const stopMongo = mongoStart.status === 'fulfilled' ? deferCleanup('stop MongoDB servers', () => mongoStart.value.stop()) : async () => {};
  const stopRedis = redisStart.status === 'fulfilled' ? deferCleanup('stop Redis', () => redisStart.value.stop()) : async () => {};
  try {
    if (mongoStart.status === 'rejected') throw mongoStart.reason;
    if (redisStart.status === 'rejected') throw redisStart.reason;
    const context: Context = { servers: mongoStart.value, redis: redisStart.value, rss };
    log(context.servers.description);
    log(context.redis.description);
    if (context.servers.baseUrls.length < SHARDS) log(`warning: ${context.servers.baseUrls.length} server(s) for ${SHARDS} shards; shards share a server`);
    const environment = { ...(await describeEnvironment(context.servers.external)), command: commandLine(), redis: await redisVersion(context.redis.url) };

    const backlog = await throughput(context, 'backlog', flags.runs);
    const live = await throughput(context, 'live', flags.runs);
    const latencyResult = await latency(context, flags.rate, flags.seconds);

    const report: RunnerBenchReport = {
      benchmark: 'runner',
      environment: { ...environment, loadAverage: { start: round(loadAtStart, 2), peak: round(Math.max(loadPeak, os.loadavg()[0] ?? 0), 2) } },
      parameters: { runs: flags.runs, createBatch: CREATE_BATCH, capacity: CAPACITY, shards: SHARDS, rate: flags.rate, seconds: flags.seconds, runner: TIMINGS },
      services: {
        mongo: context.servers.external ? 'external' : 'local FerretDB',
        servers: context.servers.baseUrls.length,
        redis: context.redis.external ? 'external' : 'local redis-server',
      },
      backlog,
      live,
      latency: latencyResult,
      rssPeakMiB: rss.overallPeakMiB(),
      wallTimeMs: round(performance.now() - started),
    };
    const markdown = renderRunnerMarkdown(report);
    process.stdout.write(`${markdown}\n`);
    const paths = await writeBenchResults('runner', report, markdown);
    log(`wrote ${paths.map((path) => path.slice(path.indexOf('bench/'))).join(', ')}`);
    log(readmeOutcome('runner', await updateBenchReadme('runner', markdown)));
  } finally {
    rss.stop();
    clearInterval(loadTimer);
    await stopRedis();
    await stopMongo();
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await runBench(main);
