/**
 * `npm run bench:storage`: bulk create rate, claim+complete rate and MongoDB commands per
 * completed run, for the embedded engine and MongoDB shards (1 and 3 each).
 *
 * MongoDB shards are local FerretDB servers (one per shard, started and stopped here) unless
 * TASKPLANE_TEST_MONGO_URLS names servers. Every configuration gets fresh databases, dropped
 * afterwards. BENCH_RUNS sets the runs per configuration (default 2000).
 *
 * Prints the Markdown table to stdout and progress to stderr; writes bench/results/storage-*.json,
 * storage-latest.md, and the README section between the bench:storage markers, if present.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { NewRun } from '../src/core/run-input.js';
import { leaseOf, type RunnerIdentity } from '../src/core/types.js';
import type { TaskStore } from '../src/storage/contract.js';
import { createTaskStore } from '../src/storage/create-store.js';
import { deferCleanup, installSignalHandlers, interruptedBy } from './lib/cleanup.js';
import { runBench } from './lib/run-bench.js';
import { byCommandName, CommandCounter, perShard, totalCommands, type CommandCounts } from './lib/command-counter.js';
import { describeEnvironment } from './lib/environment.js';
import { acquireMongoServers, databaseName, dropDatabases, freshDatabaseUrls, type MongoServers } from './lib/mongo-servers.js';
import { renderMarkdown, type BenchReport, type ConfigResult, type TakeMeasurement } from './lib/report.js';
import { readmeOutcome, updateBenchReadme, writeBenchResults } from './lib/results-files.js';

const CREATE_BATCH = 1000;
/**
 * Runs per `take` in the drain, and the take sizes whose command counts are compared. A claim or
 * settle of k runs on one shard writes them with one `update` command of k statements on
 * MongoDB, and in sequential chunks of 16 on FerretDB (mongo-collection.ts: FerretDB 1.24 never
 * answers an `update` of 100 or more statements).
 */
const TAKE_LIMIT = 50;
const TAKE_SIZES = [10, 50] as const;
/** Runs created for the per-take command counts: enough for every take size on every shard. */
const TAKE_BACKLOG = 300;
const FUNC_NAME = 'bench.noop';

interface ConfigSpec {
  readonly key: string;
  readonly engine: 'embedded' | 'mongodb';
  readonly shards: number;
}

const CONFIGS: readonly ConfigSpec[] = [
  { key: 'embedded1', engine: 'embedded', shards: 1 },
  { key: 'embedded3', engine: 'embedded', shards: 3 },
  { key: 'mongo1', engine: 'mongodb', shards: 1 },
  { key: 'mongo3', engine: 'mongodb', shards: 3 },
];
const MONGO_SERVERS = Math.max(...CONFIGS.filter((c) => c.engine === 'mongodb').map((c) => c.shards));

const started = performance.now();

function log(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${seconds}s] ${message}\n`);
}

function runCount(): number {
  const raw = process.env['BENCH_RUNS']?.trim();
  if (!raw) return 2000;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`BENCH_RUNS must be a positive integer, got "${raw}"`);
  return value;
}

const label = (spec: ConfigSpec) => `${spec.engine} ×${spec.shards}`;
const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : Number.POSITIVE_INFINITY);

/** Runs `body`, counting commands when there is a counter (the mongodb engine). */
async function counted<T>(counter: CommandCounter | undefined, body: () => Promise<T>): Promise<{ value: T; counts: CommandCounts | null }> {
  if (!counter) return { value: await body(), counts: null };
  return counter.measure(body);
}

async function createRuns(store: TaskStore, count: number, offset: number, onBatch?: (done: number) => void): Promise<number> {
  let batches = 0;
  for (let from = 0; from < count; from += CREATE_BATCH) {
    const runs: NewRun[] = Array.from({ length: Math.min(CREATE_BATCH, count - from) }, (_, i) => ({
      funcName: FUNC_NAME,
      args: [offset + from + i],
    }));
    const results = await store.createMany(runs);
    const failed = results.filter((result) => !result.created);
    if (failed.length > 0) {
      throw new Error(`createMany: ${failed.length} of ${runs.length} runs not created (first: ${JSON.stringify(failed[0])})`);
    }
    batches++;
    onBatch?.(from + runs.length);
  }
  return batches;
}

/** Claims up to `limit` runs; fails on an unavailable shard (the benchmark would be meaningless). */
async function take(store: TaskStore, runner: RunnerIdentity, limit: number) {
  const { runs, unavailable } = await store.take(runner, limit);
  if (unavailable.length > 0) throw new Error(`take: shards unavailable: ${unavailable.join(', ')}`);
  return runs;
}

async function completeAll(store: TaskStore, runs: Awaited<ReturnType<typeof take>>): Promise<number> {
  if (runs.length === 0) return 0;
  const results = await store.settle(runs.map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed', result: null } })));
  const refused = results.filter((result) => !result.accepted || result.status !== 'completed');
  if (refused.length > 0) throw new Error(`settle: ${refused.length} of ${runs.length} refused (first: ${JSON.stringify(refused[0])})`);
  return results.length;
}

async function benchConfig(spec: ConfigSpec, runs: number, servers: MongoServers | undefined): Promise<ConfigResult> {
  const name = label(spec);
  const counter = spec.engine === 'mongodb' ? new CommandCounter() : undefined;
  const urls = spec.engine === 'mongodb' ? freshDatabaseUrls(servers!.baseUrls, spec.key, spec.shards) : [];
  const store = createTaskStore(
    spec.engine === 'mongodb' ? { mongo: { shards: urls, onCommand: counter!.record } } : { embedded: { shards: spec.shards } },
  );
  const closeStore = deferCleanup(`close ${name}`, () => store.close());
  // On a signal, local servers are killed and their data removed anyway: only external ones need the drop.
  const dropStore =
    urls.length > 0
      ? deferCleanup(`drop ${name} databases`, async () => {
          if (!interruptedBy() || servers!.external) await dropDatabases(urls);
        })
      : async () => {};
  try {
    await store.start();
    if (urls.length > 0) log(`${name}: databases ${urls.map(databaseName).join(', ')}`);
    const runner: RunnerIdentity = { id: `bench-${randomUUID()}`, cluster: 'default', tags: ['default'], handlers: [FUNC_NAME] };

    // (a) bulk create
    let t0 = performance.now();
    const created = await counted(counter, () =>
      createRuns(store, runs, 0, (done) => {
        if (done % 5000 === 0 || done === runs) log(`${name}: created ${done}/${runs}`);
      }),
    );
    const createMs = performance.now() - t0;

    // (b) drain: claim + complete until nothing is left
    t0 = performance.now();
    const drained = await counted(counter, async () => {
      let completed = 0;
      let takes = 0;
      let nextReport = 500;
      for (;;) {
        const claimed = await take(store, runner, TAKE_LIMIT);
        takes++;
        if (claimed.length === 0) break;
        completed += await completeAll(store, claimed);
        if (completed >= nextReport) {
          log(`${name}: completed ${completed}/${runs}`);
          nextReport += 500;
        }
      }
      return { completed, takes };
    });
    const drainMs = performance.now() - t0;
    const stats = await store.statistics();
    const afterDrain = {
      total: stats.total.total,
      completed: stats.total.completed,
      pending: stats.total.pending,
      running: stats.total.running,
    };
    if (drained.value.completed !== runs || afterDrain.completed !== runs || afterDrain.total !== runs) {
      throw new Error(`${name}: drain completed ${drained.value.completed} runs; statistics say ${JSON.stringify(afterDrain)}; expected ${runs}`);
    }

    // (c) commands per take, for each take size, on a fresh backlog
    const takes: TakeMeasurement[] = [];
    if (counter) {
      await createRuns(store, TAKE_BACKLOG, runs);
      for (const limit of TAKE_SIZES) {
        const measured = await counter.measure(() => take(store, runner, limit));
        await completeAll(store, measured.value);
        takes.push({ limit, claimed: measured.value.length, perShard: perShard(measured.counts, store.shards), counts: measured.counts });
      }
      log(`${name}: commands per take, per shard: ${takes.map((t) => `k=${t.limit} (claimed ${t.claimed}): ${t.perShard.join('+')}`).join('; ')}`);
    }

    const result: ConfigResult = {
      key: spec.key,
      label: name,
      engine: spec.engine,
      shards: spec.shards,
      databases: urls.map(databaseName),
      create: {
        runs,
        batches: created.value,
        ms: round(createMs),
        runsPerSecond: round(perSecond(runs, createMs)),
        commands: created.counts
          ? { total: totalCommands(created.counts), perRun: round(totalCommands(created.counts) / runs, 4), byName: byCommandName(created.counts) }
          : null,
      },
      drain: {
        completed: drained.value.completed,
        takes: drained.value.takes,
        ms: round(drainMs),
        runsPerSecond: round(perSecond(drained.value.completed, drainMs)),
        commands: drained.counts
          ? {
              total: totalCommands(drained.counts),
              perCompletedRun: round(totalCommands(drained.counts) / drained.value.completed, 4),
              byName: byCommandName(drained.counts),
              byShard: drained.counts,
            }
          : null,
      },
      takes,
      afterDrain,
    };
    log(
      `${name}: create ${Math.round(result.create.runsPerSecond)} runs/s, claim+complete ${Math.round(result.drain.runsPerSecond)} runs/s` +
        (result.drain.commands ? `, ${result.drain.commands.perCompletedRun} commands per completed run` : ''),
    );
    return result;
  } finally {
    await closeStore();
    await dropStore();
  }
}

function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

async function main(): Promise<void> {
  installSignalHandlers();
  const runs = runCount();
  log(`storage benchmark: ${runs} runs per configuration`);
  const servers = await acquireMongoServers(MONGO_SERVERS);
  const stopServers = deferCleanup('stop servers', () => servers.stop());
  try {
    log(servers.description);
    if (servers.baseUrls.length < MONGO_SERVERS) {
      log(`warning: ${servers.baseUrls.length} server(s) for up to ${MONGO_SERVERS} shards; some shards share a server`);
    }
    const environment = await describeEnvironment(servers.external);
    const configs: ConfigResult[] = [];
    for (const spec of CONFIGS) {
      log(`${label(spec)}: start`);
      configs.push(await benchConfig(spec, runs, servers));
    }
    const report: BenchReport = {
      benchmark: 'storage',
      environment,
      parameters: { runs, createBatch: CREATE_BATCH, takeLimit: TAKE_LIMIT, takeSizes: TAKE_SIZES, takeBacklog: TAKE_BACKLOG },
      services: { mongo: servers.external ? 'external' : 'local FerretDB', servers: servers.baseUrls.length },
      configs,
      wallTimeMs: round(performance.now() - started),
    };
    const markdown = renderMarkdown(report);
    process.stdout.write(`${markdown}\n`);
    const paths = await writeBenchResults('storage', report, markdown);
    log(`wrote ${paths.map((path) => path.slice(path.indexOf('bench/'))).join(', ')}`);
    log(readmeOutcome('storage', await updateBenchReadme('storage', markdown)));
  } finally {
    await stopServers();
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

await runBench(main);
