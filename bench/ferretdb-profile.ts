/**
 * `npm run bench:ferretdb`: what one MongoDB command costs on the benchmark's storage (FerretDB
 * 1.24 on SQLite) as the runs collection grows — the profile behind the README's account of where
 * Taskplane's drain time goes.
 *
 * For each collection size it fills a fresh database with real run documents (the store's own
 * `createMany`), then times, median of `REPS`: a find and an update by `_id` (the only filter
 * FerretDB hands to SQLite), a filtered find like a claim's, a find, an `updateMany` and a
 * `deleteMany` of 50 ids with `$in` (FerretDB writes each updated document with its own table
 * scan, but deletes a list in one statement — after a find that decodes the collection), an
 * `insertMany` of 50 runs, and the
 * store's `statistics()` (run counts) against a counting aggregation. It also prints the SQLite
 * plan FerretDB reports for a find by `_id`.
 *
 * Writes bench/results/ferretdb-profile-*.json and ferretdb-profile-latest.md, and the README's
 * section between the bench:ferretdb markers.
 */
import os from 'node:os';
import { MongoClient, type Document } from 'mongodb';
import { createTaskStore } from '../src/storage/create-store.js';
import { deferCleanup, installSignalHandlers } from './lib/cleanup.js';
import { describeEnvironment, type Environment } from './lib/environment.js';
import { acquireMongoServers, dropDatabases, freshDatabaseUrls } from './lib/mongo-servers.js';
import { runBench } from './lib/run-bench.js';
import { readmeOutcome, updateBenchReadme, writeBenchResults } from './lib/results-files.js';

const SIZES = (process.env.BENCH_SIZES ?? '2000,20000').split(',').map(Number);
const REPS = 7;

interface Row {
  readonly runs: number;
  readonly docBytes: number;
  readonly ms: Readonly<Record<string, number>>;
  readonly idPlan: string;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function timed(reps: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await op(i);
    times.push(performance.now() - t);
  }
  return Math.round(median(times) * 10) / 10;
}

async function profile(baseUrls: readonly string[], runs: number): Promise<Row> {
  const [url] = freshDatabaseUrls(baseUrls, `prof${runs}`, 1);
  const store = createTaskStore({ mongo: { shards: [url!] } });
  const client = new MongoClient(url!);
  const cleanup = deferCleanup(`profile ${runs}`, async () => {
    await store.close();
    await client.close();
    await dropDatabases([url!]);
  });
  try {
    await store.start();
    for (let from = 0; from < runs; from += 1000) {
      await store.createMany(Array.from({ length: Math.min(1000, runs - from) }, (_, i) => ({ funcName: 'bench.noop', args: [from + i] })));
    }
    const col = client.db().collection<Document>('runs');
    // Ids from the end of the table: SQLite stops a scan at the first match when the query has a limit.
    const ids = (await col.find({}, { projection: { _id: 1 } }).toArray()).map((doc) => String(doc._id)).reverse();
    const sample = await col.findOne({ _id: ids[0] as never });
    const explain = await col.find({ _id: ids[0] as never }).explain();
    const ms = {
      findById: await timed(REPS, (i) => col.find({ _id: ids[i] as never }).toArray()),
      updateById: await timed(REPS, (i) => col.updateOne({ _id: ids[REPS + i] as never }, { $set: { priority: 1 } })),
      findIn50: await timed(3, (i) => col.find({ _id: { $in: ids.slice(i * 50, i * 50 + 50) } as never }).toArray()),
      // One statement for 50 runs: still one table scan per document written, plus the Go filter.
      updateManyIn50: await timed(3, (i) => col.updateMany({ _id: { $in: ids.slice(200 + i * 50, 250 + i * 50) } as never }, { $set: { priority: 2 } })),
      // Inserts check the unique `_id` index (which SQLite does use for that), so they should not grow with the collection.
      insertMany50: await timed(3, (i) =>
        col.insertMany(Array.from({ length: 50 }, (_, j) => ({ ...sample, _id: `copy-${i}-${j}` }) as Document)),
      ),
      // A delete by ids is one SQL statement for the whole list (after the Go filter finds them).
      deleteManyIn50: await timed(3, (i) => col.deleteMany({ _id: { $in: ids.slice(400 + i * 50, 450 + i * 50) } as never })),
      claimFind: await timed(3, () =>
        col.find({ status: 'pending', cluster: 'default', funcName: { $in: ['bench.noop'] }, runAfter: { $lte: new Date() } }).sort({ priority: -1, runAfter: 1 }).limit(100).toArray(),
      ),
      statisticsCounts: await timed(REPS, () => store.statistics()),
      statisticsAggregate: await timed(3, () => store.statistics({ exact: true })),
    };
    return { runs, docBytes: JSON.stringify(sample).length, ms, idPlan: JSON.stringify((explain as { queryPlanner?: unknown }).queryPlanner ?? explain) };
  } finally {
    await cleanup();
  }
}

function markdown(rows: readonly Row[], environment: Environment, ferret: string, loadAverage: { start: number; peak: number }): string {
  const per = (row: Row, key: string) => `${row.ms[key]} ms (${((row.ms[key]! * 1000) / row.runs).toFixed(1)} µs/run)`;
  const lines = [
    `| runs in the collection | ${rows.map((row) => `${row.runs.toLocaleString('en-US')} (${row.docBytes} B/run)`).join(' | ')} |`,
    `|---|${rows.map(() => '---:').join('|')}|`,
    `| find by \`_id\` | ${rows.map((row) => per(row, 'findById')).join(' | ')} |`,
    `| update by \`_id\` | ${rows.map((row) => per(row, 'updateById')).join(' | ')} |`,
    `| find 50 ids with \`$in\` | ${rows.map((row) => per(row, 'findIn50')).join(' | ')} |`,
    `| \`updateMany\` of 50 ids with \`$in\` | ${rows.map((row) => per(row, 'updateManyIn50')).join(' | ')} |`,
    `| \`insertMany\` of 50 runs | ${rows.map((row) => per(row, 'insertMany50')).join(' | ')} |`,
    `| \`deleteMany\` of 50 ids with \`$in\` | ${rows.map((row) => per(row, 'deleteManyIn50')).join(' | ')} |`,
    `| a claim's filtered find (limit 100) | ${rows.map((row) => per(row, 'claimFind')).join(' | ')} |`,
    `| \`statistics()\` from run counts | ${rows.map((row) => `${row.ms.statisticsCounts} ms`).join(' | ')} |`,
    `| \`statistics({ exact: true })\` (aggregation) | ${rows.map((row) => per(row, 'statisticsAggregate')).join(' | ')} |`,
    '',
    `SQLite plan FerretDB reports for a find by \`_id\`: \`${rows[0]?.idPlan ?? ''}\`.`,
    '',
    `Command: \`${environment.command}\` · ${environment.date.slice(0, 10)} · ${environment.machine.cpu}, ${environment.machine.cores} cores · Node ${environment.node} · ${ferret} · ` +
      `load average (1 min) ${loadAverage.start} at start, ${loadAverage.peak} at peak · medians of ${REPS} (3 for the scans).`,
  ];
  return lines.join('\n');
}

await runBench(async () => {
  installSignalHandlers();
  const servers = await acquireMongoServers(1);
  const stopServers = deferCleanup('servers', () => servers.stop());
  try {
    const sizes = process.env.BENCH_SIZES ? `BENCH_SIZES=${process.env.BENCH_SIZES} ` : '';
    const environment = { ...(await describeEnvironment(servers.external)), command: `${sizes}npm run bench:ferretdb` };
    const loadAverage = { start: os.loadavg()[0] ?? 0, peak: os.loadavg()[0] ?? 0 };
    const loadTimer = setInterval(() => (loadAverage.peak = Math.max(loadAverage.peak, os.loadavg()[0] ?? 0)), 1000);
    loadTimer.unref();
    const rows: Row[] = [];
    for (const runs of SIZES) {
      process.stderr.write(`[bench] profiling ${runs} runs …\n`);
      rows.push(await profile(servers.baseUrls, runs));
    }
    clearInterval(loadTimer);
    const round = (n: number) => Math.round(n * 100) / 100;
    const table = markdown(rows, environment, servers.description, { start: round(loadAverage.start), peak: round(loadAverage.peak) });
    process.stdout.write(`${table}\n`);
    const report = { environment, servers: servers.description, rows };
    const paths = await writeBenchResults('ferretdb-profile', report, table);
    process.stderr.write(`[bench] wrote ${paths.join(', ')}\n`);
    process.stderr.write(`[bench] ${readmeOutcome('ferretdb', await updateBenchReadme('ferretdb', table))}\n`);
  } finally {
    await stopServers();
  }
});
