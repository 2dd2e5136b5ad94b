/**
 * `npm run bench:compare`: Taskplane side by side with BullMQ 6 and Agenda 6 (issue 7) — same
 * machine, same run, same services, same work: no-op handlers, concurrency 100, one worker
 * process per system (a child process, so its peak RSS is its own).
 *
 * Systems: Taskplane on 3 FerretDB shards + Redis and on 1 shard; BullMQ on the same Redis;
 * Agenda with @agendajs/mongo-backend on one of the same FerretDB servers. Workloads, per system:
 * enqueue (bulk and one by one) and drain a backlog (drain-phase.ts), a steady create rate
 * (steady-phase.ts), statistics over finished runs (statistics-phase.ts); then all systems tick
 * `* * * * * *` side by side (tick-phase.ts). Counts: settings.ts (`--quick` for development).
 *
 * Services: local FerretDB servers and redis-server, started and stopped here, unless
 * TASKPLANE_TEST_MONGO_URLS / TASKPLANE_TEST_REDIS_URL name servers.
 *
 * Prints the Markdown table to stdout and progress to stderr; writes bench/results/compare-*.json,
 * compare-latest.md, compare-latest.svg and the README section between the bench:compare markers.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { deferCleanup, installSignalHandlers } from './lib/cleanup.js';
import { describeEnvironment } from './lib/environment.js';
import { acquireMongoServers, MONGO_ENV, type MongoServers } from './lib/mongo-servers.js';
import { acquireRedis, REDIS_ENV, redisVersion, type RedisServer } from './lib/redis-server.js';
import { readmeOutcome, updateBenchReadme, writeBenchResults } from './lib/results-files.js';
import { runBench } from './lib/run-bench.js';
import type { CompareReport, SystemResult } from './compare/compare-report.js';
import { drainPhase } from './compare/drain-phase.js';
import { packageVersions } from './compare/package-versions.js';
import { renderChart, writeChart } from './compare/render-chart.js';
import { renderCompareMarkdown } from './compare/render-table.js';
import { compileSettings, shortfalls, storeClassOf, type CompareSettings, type SystemId } from './compare/settings.js';
import { statisticsPhase } from './compare/statistics-phase.js';
import { steadyPhase } from './compare/steady-phase.js';
import { agendaClient } from './compare/systems/agenda-client.js';
import { bullmqClient } from './compare/systems/bullmq-client.js';
import type { SystemClient } from './compare/systems/client-contract.js';
import { taskplaneClient } from './compare/systems/taskplane-client.js';
import { checkTargets } from './compare/targets.js';
import { tickPhase } from './compare/tick-phase.js';
import { removeWorkerBundle, workerEntry } from './compare/worker-bundle.js';

const started = performance.now();
const log = (message: string) => process.stderr.write(`[compare ${((performance.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}\n`);
const logger = pino({ level: 'warn', base: { bench: 'compare' } }, pino.destination({ dest: 2, sync: true }));

/** How the script was started, as a user would type it (URLs are not shown: they may hold credentials). */
function commandLine(): string {
  const env = [...(process.env[MONGO_ENV]?.trim() ? [`${MONGO_ENV}=…`] : []), ...(process.env[REDIS_ENV]?.trim() ? [`${REDIS_ENV}=…`] : [])];
  const flags = process.argv.slice(2);
  const event = process.env['npm_lifecycle_event'];
  const script = event === 'bench:compare' || event === 'bench' ? `npm run ${event}${flags.length > 0 ? ' --' : ''}` : 'npx tsx bench/compare.ts';
  return [...env, script, ...flags].join(' ');
}

function buildClients(settings: CompareSettings, servers: MongoServers, redis: RedisServer): SystemClient[] {
  const onError = (error: Error) => logger.warn({ err: error }, 'coordination error');
  const base = servers.baseUrls;
  const make: Record<SystemId, () => SystemClient> = {
    'taskplane-3': () => taskplaneClient({ id: 'taskplane-3', servers: base, shards: 3, redisUrl: redis.url, capacity: settings.concurrency, onError }),
    'taskplane-1': () => taskplaneClient({ id: 'taskplane-1', servers: [base[0]!], shards: 1, redisUrl: redis.url, capacity: settings.concurrency, onError }),
    bullmq: () => bullmqClient({ redisUrl: redis.url, concurrency: settings.concurrency }),
    // Not the 1-shard Taskplane's server, so the two never share a FerretDB process when they run side by side.
    agenda: () =>
      agendaClient({ server: base[1 % base.length]!, concurrency: settings.concurrency, processEveryMs: settings.agendaProcessEveryMs, poolSize: settings.agendaPoolSize }),
  };
  return settings.systems.map((id) => make[id]());
}

/** Runs one phase; a failure is recorded against the system and the benchmark goes on. */
async function attempt<T>(failures: string[], phase: string, body: () => Promise<T>): Promise<T | null> {
  try {
    return await body();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    failures.push(`${phase}: ${message}`);
    log(`${phase} failed: ${message}`);
    return null;
  }
}

async function runSystems(settings: CompareSettings, clients: readonly SystemClient[]): Promise<SystemResult[]> {
  const results: Array<SystemResult & { failures: string[] }> = [];
  for (const client of clients) {
    const counts = settings.classes[storeClassOf(client.id)];
    const failures: string[] = [];
    log(`── ${client.label} (${client.stack}): ${counts.runs} runs, ${counts.repetitions} repetition(s)`);
    const drain = await attempt(failures, `${client.label} drain`, () => drainPhase(client, counts, log));
    const steady = await attempt(failures, `${client.label} steady`, () => steadyPhase(client, settings, log));
    const statistics = await attempt(failures, `${client.label} statistics`, () => statisticsPhase(client, client.id === 'agenda' || client.id === 'bullmq' ? counts.finished : settings.taskplaneFinished, settings.statisticsQueries, log));
    results.push({ id: client.id, label: client.label, stack: client.stack, storeClass: storeClassOf(client.id), counts, drain, steady, statistics, ticks: null, workerBaselineMiB: drain?.repetitions[0]?.rssBaselineMiB ?? null, failures });
  }
  log(`── ticks: ${settings.ticks} × \`* * * * * *\`, every system at once`);
  const ticks = await tickPhase(clients, settings.ticks, log);
  return results.map((result) => {
    const tick = ticks.get(result.id);
    if (tick instanceof Error) return { ...result, failures: [...result.failures, `${result.label} ticks: ${tick.message}`] };
    return { ...result, ticks: tick ?? null };
  });
}

async function main(): Promise<void> {
  installSignalHandlers();
  const settings = compileSettings(process.argv.slice(2));
  const loadAtStart = os.loadavg()[0] ?? 0;
  let loadPeak = loadAtStart;
  const loadTimer = setInterval(() => (loadPeak = Math.max(loadPeak, os.loadavg()[0] ?? 0)), 1000);
  loadTimer.unref();
  const { mongo, redis } = settings.classes;
  log(
    `compare${settings.quick ? ' (--quick)' : ''}: Taskplane/Agenda ${mongo.runs} runs (${mongo.oneByOne} one by one), drain cap ${mongo.drainCapSeconds} s, ` +
      `${mongo.repetitions} rep(s), ${mongo.finished} finished; BullMQ ${redis.runs} runs (${redis.oneByOne} one by one), ${redis.repetitions} rep(s), ${redis.finished} finished; ` +
      `steady ${settings.rate} runs/s × ${settings.seconds} s (+${settings.graceSeconds} s); ${settings.ticks} ticks; concurrency ${settings.concurrency}`,
  );
  const [mongoStart, redisStart] = await Promise.allSettled([acquireMongoServers(3), acquireRedis()]);
  const stopMongo = mongoStart.status === 'fulfilled' ? deferCleanup('stop MongoDB servers', () => mongoStart.value.stop()) : async () => {};
  const stopRedis = redisStart.status === 'fulfilled' ? deferCleanup('stop Redis', () => redisStart.value.stop()) : async () => {};
  try {
    if (mongoStart.status === 'rejected') throw mongoStart.reason;
    if (redisStart.status === 'rejected') throw redisStart.reason;
    const servers = mongoStart.value;
    log(servers.description);
    log(redisStart.value.description);
    const environment = {
      ...(await describeEnvironment(servers.external)),
      command: commandLine(),
      redis: await redisVersion(redisStart.value.url),
      packages: await packageVersions(),
    };
    const { loader } = await workerEntry();
    log(`workers: ${loader}`);
    const systems = await runSystems(settings, buildClients(settings, servers, redisStart.value));

    const tp = systems.find((system) => system.id === 'taskplane-3') ?? systems.find((system) => system.id === 'taskplane-1');
    const tpRate = tp?.drain?.median.drainPerSecond;
    const { mongo: m, redis: r } = settings.classes;
    const caption = `npm run bench:compare · ${environment.date.slice(0, 10)} · drain of ${m.runs} runs (BullMQ ${r.runs}) · ${settings.rate} runs/s for ${settings.seconds} s · counts and notes in the README`;
    const chart = renderChart(systems, settings, caption);
    const report: CompareReport = {
      benchmark: 'compare',
      environment: { ...environment, loadAverage: { start: round(loadAtStart), peak: round(Math.max(loadPeak, os.loadavg()[0] ?? 0)) } },
      settings,
      services: {
        mongo: servers.external ? 'external' : 'local FerretDB',
        servers: servers.baseUrls.length,
        redis: redisStart.value.external ? 'external' : 'local redis-server',
      },
      workerLoader: loader,
      systems,
      targets: checkTargets(systems, settings),
      shortfalls: shortfalls(settings, { taskplaneMsPerRun: tpRate ? 1000 / tpRate : null, agendaStatistics: systems.find((system) => system.id === 'agenda')?.statistics ?? null }),
      chart: 'bench/results/compare-latest.svg',
      wallTimeMs: Math.round(performance.now() - started),
    };
    const markdown = renderCompareMarkdown(report);
    process.stdout.write(`${markdown}\n`);
    const paths = [...(await writeBenchResults('compare', report, markdown)), await writeChart(chart)];
    log(`wrote ${paths.map((path) => path.slice(path.indexOf('bench/'))).join(', ')}`);
    log(readmeOutcome('compare', await updateBenchReadme('compare', markdown)));
    const failed = systems.flatMap((system) => system.failures);
    if (failed.length > 0) log(`${failed.length} phase(s) failed (in the table and the JSON): ${failed.join(' | ')}`);
  } finally {
    clearInterval(loadTimer);
    await removeWorkerBundle();
    await stopRedis();
    await stopMongo();
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const round = (value: number) => Math.round(value * 100) / 100;

await runBench(main);
