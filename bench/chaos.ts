/**
 * `npm run chaos`: the fault suite's long form — the scenarios of test/chaos with their long sizes
 * (test/chaos/sizes.ts), then the load: 50,000 runs through two runner processes with 10% failing
 * handlers and random SIGKILL/SIGTERM runner restarts. Every scenario ends in the audit
 * (test/chaos/audit.ts); the script exits 1 when any audit found a violation. `npm run load` runs
 * the load alone.
 *
 * FerretDB shards and Redis are started here (3 + 1, on loopback) unless
 * TASKPLANE_TEST_MONGO_URLS / TASKPLANE_TEST_REDIS_URL name servers; the shard and Redis outage
 * scenarios start and kill servers of their own. Flags: --only NAME[,NAME] (runner-kill,
 * scheduler-failover, storage-failover, shard-outage, redis-outage, runner-pause, load), --form short|long
 * (default long), --runs N and --minutes M (the load's run count and its time bound: creation
 * stops there with a message, and what was created is drained and audited).
 *
 * Progress goes to stderr; the Markdown tables to stdout. A full run writes
 * bench/results/chaos-<date>.json, chaos-latest.json, chaos-latest.md and the README section
 * between the bench:chaos markers; a run with --only writes chaos-<names>-latest.* instead.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { describeReport, renderChaosMarkdown, type ChaosRunReport } from '../test/chaos/report.js';
import type { ScenarioContext, ScenarioReport } from '../test/chaos/scenario.js';
import { loadScenario } from '../test/chaos/scenarios/load.js';
import { redisOutageScenario } from '../test/chaos/scenarios/redis-outage.js';
import { runnerKillScenario } from '../test/chaos/scenarios/runner-kill.js';
import { runnerPauseScenario } from '../test/chaos/scenarios/runner-pause.js';
import { schedulerFailoverScenario } from '../test/chaos/scenarios/scheduler-failover.js';
import { shardOutageScenario } from '../test/chaos/scenarios/shard-outage.js';
import { storageFailoverScenario } from '../test/chaos/scenarios/storage-failover.js';
import type { ChaosForm } from '../test/chaos/sizes.js';
import { deferCleanup, installSignalHandlers, runAllCleanups } from './lib/cleanup.js';
import { describeEnvironment } from './lib/environment.js';
import { acquireMongoServers, MONGO_ENV } from './lib/mongo-servers.js';
import { acquireRedis, REDIS_ENV } from './lib/redis-server.js';
import { readmeOutcome, updateBenchReadme, writeBenchResults } from './lib/results-files.js';
import { runBench } from './lib/run-bench.js';

const started = Date.now();
const log = (message: string) => process.stderr.write(`[chaos ${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${message}\n`);

const SCENARIOS: ReadonlyArray<readonly [string, (ctx: ScenarioContext, flags: Flags) => Promise<ScenarioReport>]> = [
  ['runner-kill', (ctx) => runnerKillScenario(ctx)],
  ['scheduler-failover', (ctx) => schedulerFailoverScenario(ctx)],
  ['storage-failover', (ctx) => storageFailoverScenario(ctx)],
  ['shard-outage', (ctx) => shardOutageScenario(ctx)],
  ['redis-outage', (ctx) => redisOutageScenario(ctx)],
  ['runner-pause', (ctx) => runnerPauseScenario(ctx)],
  ['load', (ctx, flags) => loadScenario(ctx, { ...(flags.runs ? { runs: flags.runs } : {}), ...(flags.minutes ? { maxSeconds: flags.minutes * 60 } : {}) })],
];

interface Flags {
  readonly only: readonly string[] | null;
  readonly form: ChaosForm;
  readonly runs: number | null;
  readonly minutes: number | null;
}

function parseFlags(): Flags {
  const { values } = parseArgs({ options: { only: { type: 'string' }, form: { type: 'string' }, runs: { type: 'string' }, minutes: { type: 'string' } }, strict: true });
  const names = SCENARIOS.map(([name]) => name);
  const only = values.only === undefined ? null : values.only.split(',').map((name) => name.trim());
  for (const name of only ?? []) if (!names.includes(name)) throw new Error(`--only: unknown scenario "${name}" (known: ${names.join(', ')})`);
  const form = values.form ?? 'long';
  if (form !== 'short' && form !== 'long') throw new Error(`--form must be short or long, got "${form}"`);
  const positive = (name: string, raw: string | undefined) => {
    if (raw === undefined) return null;
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${raw}"`);
    return value;
  };
  return { only, form, runs: positive('runs', values.runs), minutes: positive('minutes', values.minutes) };
}

/** How the script was started, as a user would type it (URLs are not shown: they may hold credentials). */
function commandLine(): string {
  const env = [...(process.env[MONGO_ENV]?.trim() ? [`${MONGO_ENV}=…`] : []), ...(process.env[REDIS_ENV]?.trim() ? [`${REDIS_ENV}=…`] : [])];
  const flags = process.argv.slice(2);
  const event = process.env['npm_lifecycle_event'];
  const script = event === 'chaos' || event === 'load' ? `npm run ${event}${flags.length > 0 ? ' --' : ''}` : 'npx tsx bench/chaos.ts';
  return [...env, script, ...flags].join(' ');
}

async function main(): Promise<void> {
  installSignalHandlers();
  const flags = parseFlags();
  const loadAtStart = os.loadavg()[0] ?? 0;
  let loadPeak = loadAtStart;
  const loadTimer = setInterval(() => (loadPeak = Math.max(loadPeak, os.loadavg()[0] ?? 0)), 5000);
  const servers = await acquireMongoServers(3);
  deferCleanup('Mongo servers', () => servers.stop());
  const redis = await acquireRedis();
  deferCleanup('Redis', () => redis.stop());
  log(`${servers.description}; ${redis.description}`);
  const ctx: ScenarioContext = { services: { mongoBaseUrls: servers.baseUrls, redisUrl: redis.url }, form: flags.form, log };

  const reports: ScenarioReport[] = [];
  for (const [name, run] of SCENARIOS) {
    if (flags.only && !flags.only.includes(name)) continue;
    // Over a minute per pause: the short form leaves it to test/chaos/late-writer.test.ts.
    if (name === 'runner-pause' && flags.form === 'short') continue;
    log(`── ${name} (${flags.form} form) ──`);
    const report = await run(ctx, flags);
    reports.push(report);
    log(describeReport(report));
    if (report.violations.length > 0) log(`${report.name} violations:\n${report.violations.slice(0, 20).join('\n')}\n${report.diagnostics ?? ''}`);
  }
  clearInterval(loadTimer);

  const environment = await describeEnvironment(servers.external);
  const run: ChaosRunReport = {
    benchmark: 'chaos',
    environment: {
      date: environment.date,
      command: commandLine(),
      machine: environment.machine,
      node: environment.node,
      ferretdb: environment.ferretdb,
      loadAverage: { start: Math.round(loadAtStart * 10) / 10, peak: Math.round(Math.max(loadPeak, os.loadavg()[0] ?? 0) * 10) / 10 },
    },
    form: flags.form,
    passed: reports.every((report) => report.violations.length === 0),
    wallTimeSeconds: Math.round((Date.now() - started) / 1000),
    scenarios: reports,
  };
  const markdown = renderChaosMarkdown(run);
  process.stdout.write(`${markdown}\n`);
  const name = flags.only ? `chaos-${flags.only.join('-')}` : flags.form === 'long' ? 'chaos' : 'chaos-short';
  const paths = await writeBenchResults(name, run, markdown);
  log(`wrote ${paths.join(', ')}`);
  if (name === 'chaos') log(readmeOutcome('chaos', await updateBenchReadme('chaos', markdown)));
  await runAllCleanups();
  if (!run.passed) {
    log(`FAILED: ${reports.filter((report) => report.violations.length > 0).map((report) => report.name).join(', ')}`);
    process.exitCode = 1;
  }
}

void runBench(main);
