import type { CommandCounts } from './command-counter.js';
import type { Environment } from './environment.js';

export interface TakeMeasurement {
  readonly limit: number;
  readonly claimed: number;
  /** Commands per shard, in shard order. */
  readonly perShard: number[];
  readonly counts: CommandCounts;
}

export interface ConfigResult {
  readonly key: string;
  readonly label: string;
  readonly engine: string;
  readonly shards: number;
  /** Database names used (mongodb only), dropped afterwards. */
  readonly databases: string[];
  readonly create: {
    readonly runs: number;
    readonly batches: number;
    readonly ms: number;
    readonly runsPerSecond: number;
    readonly commands: { readonly total: number; readonly perRun: number; readonly byName: Record<string, number> } | null;
  };
  readonly drain: {
    readonly completed: number;
    readonly takes: number;
    readonly ms: number;
    readonly runsPerSecond: number;
    readonly commands: {
      readonly total: number;
      readonly perCompletedRun: number;
      readonly byName: Record<string, number>;
      readonly byShard: CommandCounts;
    } | null;
  };
  /** One take of each size on a fresh backlog (mongodb only). */
  readonly takes: TakeMeasurement[];
  /** `statistics()` after the drain. */
  readonly afterDrain: { readonly total: number; readonly completed: number; readonly pending: number; readonly running: number };
}

export interface BenchReport {
  readonly benchmark: 'storage';
  readonly environment: Environment;
  readonly parameters: {
    readonly runs: number;
    readonly createBatch: number;
    readonly takeLimit: number;
    readonly takeSizes: readonly number[];
    readonly takeBacklog: number;
  };
  readonly services: { readonly mongo: string; readonly servers: number };
  readonly configs: ConfigResult[];
  readonly wallTimeMs: number;
}


function rate(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

function ratio(value: number): string {
  return value.toFixed(value >= 10 ? 1 : 3);
}

export function renderMarkdown(report: BenchReport): string {
  const { environment: env, parameters: p } = report;
  const sizes = p.takeSizes.map((k) => `k=${k}`).join(' / ');
  const lines = [
    `| engine | shards | create runs/s | claim+complete runs/s | commands per completed run | commands per take, per shard (${sizes}) |`,
    '|---|---:|---:|---:|---:|---|',
  ];
  for (const config of report.configs) {
    const commands = config.drain.commands ? ratio(config.drain.commands.perCompletedRun) : '—';
    const takes = config.takes.length > 0 ? config.takes.map((take) => take.perShard.join('+')).join(' / ') : '—';
    lines.push(
      `| ${config.engine} | ${config.shards} | ${rate(config.create.runsPerSecond)} | ${rate(config.drain.runsPerSecond)} | ${commands} | ${takes} |`,
    );
  }
  const mix = report.configs
    .filter((config) => config.drain.commands)
    .map((config) => {
      const names = Object.entries(config.drain.commands!.byName).map(([name, count]) => `${name} ${count}`).join(', ');
      return `${config.label}: ${names} (${config.drain.takes} takes)`;
    });
  const servers = report.services.servers;
  const maxShards = Math.max(0, ...report.configs.filter((config) => config.engine === 'mongodb').map((config) => config.shards));
  const mongoServers =
    env.ferretdb === 'external'
      ? `${servers} external server${servers === 1 ? '' : 's'} from TASKPLANE_TEST_MONGO_URLS${servers < maxShards ? ' (shards share servers)' : ''}`
      : `FerretDB ${env.ferretdb}, one local server per shard`;
  lines.push(
    '',
    `${p.runs.toLocaleString('en-US')} runs per configuration: created with \`createMany\` in batches of ${p.createBatch.toLocaleString('en-US')}, ` +
      `then drained by one loop of \`take(runner, ${p.takeLimit})\` + \`settle\` (completed) until nothing is left. ` +
      `Commands are every command the driver sent during the drain (command monitoring, \`commandStarted\`), divided by the runs completed; ` +
      `per-take counts are one \`take\` of each size on a fresh backlog of ${p.takeBacklog} runs, listed per shard. ` +
      `A claim or settle of k runs on one shard sends one \`update\` of k statements to MongoDB, and \`ceil(k/16)\` sequential ones to FerretDB ` +
      `(FerretDB 1.24 never answers an \`update\` of 100 or more statements; see the note under the table), which is most of the \`update\` count below.`,
  );
  if (mix.length > 0) lines.push('', `Drain commands — ${mix.join('; ')}.`);
  lines.push(
    '',
    `Command: \`${env.command}\` · ${env.date.slice(0, 10)} · ${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.memoryGiB} GiB, ${env.machine.os} · ` +
      `Node ${env.node} · mongodb driver ${env.mongodbDriver} · ${mongoServers} · whole run ${Math.round(report.wallTimeMs / 1000)} s`,
  );
  return lines.join('\n');
}


