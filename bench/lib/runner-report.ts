import type { CommandCounts } from './command-counter.js';
import type { Environment } from './environment.js';
import type { LatencySummary } from './percentiles.js';
import type { RunnerTimings } from './runner-stand.js';

export interface DrainCommands {
  readonly total: number;
  readonly perCompletedRun: number;
  readonly byName: Record<string, number>;
  readonly byShard: CommandCounts;
}

/** A throughput scenario: `runs` runs completed by the one runner. */
export interface ThroughputResult {
  readonly runs: number;
  readonly databases: string[];
  /** Creating all runs (client store, `createMany` in batches). */
  readonly createMs: number;
  /** From the clock start (runner start, or first create) to the last completion announced. */
  readonly ms: number;
  readonly runsPerSecond: number;
  /** Every command the runner's store sent in that window. */
  readonly commands: DrainCommands;
  readonly rssPeakMiB: number;
}

export interface LatencyResult {
  readonly databases: string[];
  readonly planned: number;
  readonly created: number;
  /** Runs per second actually issued (first to last create call). */
  readonly issuedPerSecond: number;
  /** Round trip of the client's `create` call. */
  readonly createCallMs: LatencySummary | null;
  /** `Date.now() - args.t` at handler start; `t` set just before `create` was called. */
  readonly createToStartMs: LatencySummary | null;
  /** `finishedAt - createdAt` as stored. */
  readonly createToFinishMs: LatencySummary | null;
  readonly commands: DrainCommands;
  readonly rssPeakMiB: number;
}

export interface RunnerBenchReport {
  readonly benchmark: 'runner';
  readonly environment: Environment & {
    readonly redis: string;
    /** `os.loadavg()[0]` when the benchmark started, and its peak (sampled every second): other work on the machine shows here. */
    readonly loadAverage: { readonly start: number; readonly peak: number };
  };
  readonly parameters: {
    readonly runs: number;
    readonly createBatch: number;
    readonly capacity: number;
    readonly shards: number;
    readonly rate: number;
    readonly seconds: number;
    readonly runner: RunnerTimings;
  };
  readonly services: { readonly mongo: string; readonly servers: number; readonly redis: string };
  /** Runs created first, then the runner started. */
  readonly backlog: ThroughputResult;
  /** Runner started first, then runs created as fast as the client can. */
  readonly live: ThroughputResult;
  readonly latency: LatencyResult;
  readonly rssPeakMiB: number;
  readonly wallTimeMs: number;
}


const int = (value: number) => Math.round(value).toLocaleString('en-US');
const rate = (value: number) => (!Number.isFinite(value) ? 'n/a' : value >= 100 ? int(value) : value.toFixed(1));
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const mix = (byName: Record<string, number>) => Object.entries(byName).map(([name, count]) => `${name} ${count}`).join(', ');

function latencyRow(label: string, summary: LatencySummary | null): string {
  if (!summary) return `| ${label} | — | — | — | — |`;
  return `| ${label} | ${int(summary.p50)} | ${int(summary.p95)} | ${int(summary.p99)} | ${int(summary.max)} |`;
}

export function renderRunnerMarkdown(report: RunnerBenchReport): string {
  const { environment: env, parameters: p, backlog, live, latency } = report;
  const runs = p.runs.toLocaleString('en-US');
  const throughputRow = (label: string, result: ThroughputResult) =>
    `| ${label} | ${rate(result.runsPerSecond)} | ${seconds(result.ms)} | ${result.commands.perCompletedRun.toFixed(2)} | ${int(result.rssPeakMiB)} |`;
  const mongo =
    env.ferretdb === 'external'
      ? `${report.services.servers} external MongoDB server(s) from TASKPLANE_TEST_MONGO_URLS`
      : `FerretDB ${env.ferretdb}, one local server per shard`;
  return [
    `| ${runs} no-op runs, one runner (capacity ${p.capacity}), ${p.shards} shards | runs/s | seconds | MongoDB commands per completed run (runner) | peak RSS MiB |`,
    '|---|---:|---:|---:|---:|',
    throughputRow(`backlog: created first (\`createMany\` of ${p.createBatch}), then the runner started`, backlog),
    throughputRow(`create→complete: runner started first, then runs created (\`createMany\` of ${p.createBatch})`, live),
    '',
    `| ${p.rate} runs/s for ${p.seconds} s (${int(latency.created)} runs), ms | p50 | p95 | p99 | max |`,
    '|---|---:|---:|---:|---:|',
    latencyRow('create → handler start (`Date.now() - args.t`)', latency.createToStartMs),
    latencyRow('create → finished (stored `finishedAt - createdAt`)', latency.createToFinishMs),
    latencyRow('client `create` call', latency.createCallMs),
    '',
    `Throughput: time from \`runner.start()\` (backlog) or from the first \`createMany\` (create→complete; creating took ${seconds(live.createMs)} s) ` +
      `until the last completion is announced (the runner store's \`runs\` messages, counted by the client; one \`statistics()\` then confirms them — ` +
      `polling \`statistics()\` instead would scan every shard's runs each time on FerretDB). ` +
      `The runner is built as a node builds it (\`withRunEvents(store, RedisCoordinator)\` + \`Runner\`, poll ${p.runner.pollMs} ms, ` +
      `heartbeat ${p.runner.heartbeatMs} ms, lease check ${p.runner.renewEveryMs} ms) and runs in the benchmark process; ` +
      `runs are created by a separate client store and coordinator, whose commands are not counted. ` +
      `Runner commands — backlog: ${mix(backlog.commands.byName)}; create→complete: ${mix(live.commands.byName)}; ` +
      `latency phase: ${mix(latency.commands.byName)} (${latency.commands.perCompletedRun.toFixed(2)} per run). ` +
      `Latency: one \`create\` every ${Math.round(1000 / p.rate)} ms (issued at ${rate(latency.issuedPerSecond)} runs/s), ` +
      `the runner woken by the \`work:default\` message. Peak RSS is the whole benchmark process (runner, client, both coordinators), ` +
      `sampled every 100 ms; latency phase ${int(latency.rssPeakMiB)} MiB. Each scenario runs on fresh databases.`,
    '',
    `Command: \`${env.command}\` · ${env.date.slice(0, 10)} · ${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.memoryGiB} GiB, ${env.machine.os} · ` +
      `Node ${env.node} · mongodb driver ${env.mongodbDriver} · ${mongo} · Redis ${env.redis} · ` +
      `load average (1 min) ${env.loadAverage.start.toFixed(1)} at start, ${env.loadAverage.peak.toFixed(1)} at peak · whole run ${Math.round(report.wallTimeMs / 1000)} s`,
  ].join('\n');
}


