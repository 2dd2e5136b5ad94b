import type { LatencySummary } from '../lib/percentiles.js';
import type { CensoredSummary } from './censored-summary.js';
import type { CompareReport, ErrorTally, SystemResult } from './compare-report.js';
import type { TargetCheck } from './targets.js';

/** The Markdown written into the README between the bench:compare markers. Every figure comes from the report. */

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const rate = (value: number | null | undefined) => (value === null || value === undefined ? '—' : value >= 100 ? int(value) : value.toFixed(1));
const ms = (value: number | null | undefined) => (value === null || value === undefined ? '—' : value >= 100 ? int(value) : value.toFixed(1));
const secs = (milliseconds: number) => `${(milliseconds / 1000).toFixed(0)} s`;

function censored(summary: CensoredSummary | undefined): string {
  if (!summary) return '—';
  const cell = (value: number | null) => (value === null ? `>${secs(summary.windowMs)}` : ms(value));
  const tail = summary.observed < summary.offered ? ` (${int(summary.observed)}/${int(summary.offered)})` : '';
  return `${cell(summary.p50)} / ${cell(summary.p95)} / ${cell(summary.p99)}${tail}`;
}

const p50p99 = (summary: LatencySummary | null | undefined) => (summary ? `${ms(summary.p50)} / ${ms(summary.p99)}` : '—');

function drainCell(system: SystemResult): string {
  const drain = system.drain;
  if (!drain) return '—';
  const cut = drain.repetitions.filter((rep) => rep.drain.capped);
  if (cut.length === 0) return rate(drain.median.drainPerSecond);
  const rep = cut[0]!;
  return `${rate(drain.median.drainPerSecond)} (cut off: ${int(rep.drain.completed)}/${int(rep.drain.target)} in ${secs(rep.drain.ms)})`;
}

function rows(systems: readonly SystemResult[], report: CompareReport): string[] {
  const row = (label: string, cell: (system: SystemResult) => string) => `| ${label} | ${systems.map(cell).join(' | ')} |`;
  const { rate: load, seconds } = report.settings;
  return [
    `| figure | ${systems.map((system) => system.label).join(' | ')} |`,
    `|---|${systems.map(() => '---:').join('|')}|`,
    row('runs on', (s) => s.stack),
    row('runs enqueued, then drained (× repetitions)', (s) => (s.drain ? `${int(s.drain.repetitions[0]?.drain.target ?? 0)} ×${s.drain.repetitions.length}` : '—')),
    row('enqueue, bulk (runs/s)', (s) => (s.drain ? (s.drain.median.bulkPerSecond === null ? 'no bulk API' : rate(s.drain.median.bulkPerSecond)) : '—')),
    row('enqueue, one by one (runs/s)', (s) => rate(s.drain?.median.oneByOnePerSecond)),
    row('**drain (runs/s)**', drainCell),
    row('MongoDB commands per completed run (drain)', (s) => (s.drain?.median.commandsPerCompletedRun === null || !s.drain ? '—' : s.drain.median.commandsPerCompletedRun.toFixed(2))),
    row(`**create→start** p50 / p95 / p99 ms, ${load} runs/s × ${seconds} s`, (s) => censored(s.steady?.createToStartMs)),
    row('create→finish p50 / p95 / p99 ms', (s) => censored(s.steady?.createToFinishMs)),
    row('cron drift, tick → handler start, p50 / p99 ms', (s) => p50p99(s.ticks?.startDriftMs)),
    row('cron drift, tick → run stored, p50 / p99 ms', (s) => p50p99(s.ticks?.fireDriftMs)),
    row('ticks seen / expected', (s) => (s.ticks ? `${s.ticks.observed}/${s.ticks.expected}${s.ticks.duplicates > 0 ? ` (+${s.ticks.duplicates} twice)` : ''}` : '—')),
    row('statistics query ms (median), finished runs', (s) => (s.statistics ? `${ms(s.statistics.medianMs)} over ${int(s.statistics.finished)}` : '—')),
    row('worker peak RSS MiB (drain / steady / ticks)', (s) => [s.drain?.median.rssPeakMiB, s.steady?.rssPeakMiB, s.ticks?.rssPeakMiB].map((v) => (v === undefined ? '—' : int(v))).join(' / ')),
    row('failed MongoDB commands / library errors', errorCell),
  ];
}

function tallies(system: SystemResult): ErrorTally[] {
  return [...(system.drain?.repetitions.map((rep) => rep.errors) ?? []), ...(system.steady ? [system.steady.errors] : []), ...(system.ticks ? [system.ticks.errors] : [])];
}

function errorCell(system: SystemResult): string {
  const all = tallies(system);
  const commands = all.reduce((sum, tally) => sum + tally.failedCommands, 0);
  const errors = all.reduce((sum, tally) => sum + tally.errors, 0);
  return `${int(commands)} / ${int(errors)}${system.failures.length > 0 ? ` (${system.failures.length} phase(s) failed)` : ''}`;
}

function targetRows(checks: readonly TargetCheck[]): string[] {
  const systems = [...new Set(checks.map((check) => check.system))];
  const targets = [...new Set(checks.map((check) => check.target))];
  const cell = (check: TargetCheck | undefined) => {
    if (!check) return '—';
    const value = check.value === null ? '' : check.unit === '×' ? `${check.value}×: ` : `${check.value >= 100 ? int(check.value) : check.value} ${check.unit}: `;
    const status = check.status === 'met' ? (check.belowIssueCount ? `**met ${check.belowIssueCount}**` : '**met**') : check.status === 'missed' ? '**missed**' : 'not shown';
    return `${status} — ${value}${check.margin}${check.basis ? ` (${check.basis})` : ''}`;
  };
  return [
    `| issue 7 target (same run) | ${systems.join(' | ')} |`,
    `|---|${systems.map(() => '---').join('|')}|`,
    ...targets.map((target) => `| ${target} | ${systems.map((system) => cell(checks.find((c) => c.target === target && c.system === system))).join(' | ')} |`),
  ];
}

function notes(report: CompareReport): string[] {
  const { settings, systems } = report;
  const calls = systems
    .filter((s) => s.drain)
    .map((s) => `${s.label}: bulk ${s.drain!.bulkCall}, one by one ${s.drain!.oneCall}`)
    .join('; ');
  const stats = systems
    .filter((s) => s.statistics)
    .map((s) => `${s.label}: ${s.statistics!.call}, seeded by ${s.statistics!.seededHow} (${secs(s.statistics!.seedMs)}); queries ${s.statistics!.queriesMs.map(ms).join(', ')} ms`)
    .join('; ');
  const errors = systems.flatMap((s) => {
    const firstCommand = tallies(s).find((tally) => tally.firstFailedCommand)?.firstFailedCommand;
    const firstError = tallies(s).find((tally) => tally.firstError)?.firstError;
    return [
      ...(firstCommand ? [`${s.label}: first failed MongoDB command: "${firstCommand.slice(0, 300)}"`] : []),
      ...(firstError ? [`${s.label}: first library error: "${firstError.slice(0, 300)}"`] : []),
      ...s.failures.map((failure) => `failed — ${failure.slice(0, 300)}`),
    ];
  });
  const commands = systems
    .filter((s) => s.drain?.repetitions[0]?.commands)
    .map((s) => `${s.label}: ${Object.entries(s.drain!.repetitions[0]!.commands!.byName).map(([name, count]) => `${name} ${int(count)}`).join(', ')}`)
    .join('; ');
  return [
    ...report.shortfalls.map((note) => `- ${note}`),
    `- Same work everywhere: no-op handlers, concurrency ${settings.concurrency}, one worker per system in its own child process; runs are created by the benchmark process. ` +
      `Taskplane's worker is a runner node (\`createNode\`, capacity ${settings.concurrency}); Agenda polls every ${settings.agendaProcessEveryMs} ms with max/default concurrency and lock limits ${settings.concurrency} ` +
      `and a MongoDB pool of ${settings.agendaPoolSize} (with a larger pool FerretDB answers its concurrent writes with \`SQLITE_BUSY\`; see bench/compare/systems/agenda-worker.ts); BullMQ jobs use \`removeOnComplete\`.`,
    `- Enqueue calls — ${calls}. Drain: from the worker's first handler call to the completion that empties the backlog (Taskplane: its runner's \`runs\` messages; BullMQ: \`completed\` events; Agenda: \`complete\` events), ` +
      `cut off after ${settings.classes.mongo.drainCapSeconds} s; medians over the repetitions.`,
    `- MongoDB commands: every command of every client in the worker process (driver command monitoring) from its first handler call to the end of the drain, per completed run — ${commands || 'none measured'}.`,
    `- Latency: one create every ${(1000 / settings.rate).toFixed(0)} ms for ${settings.seconds} s, each carrying the client's clock before the call; create→start at the handler, create→finish from the finish time the system stored. ` +
      `Runs that had not started (finished) ${settings.graceSeconds} s after the load ended count as slower than the window: a percentile that lands on them shows as \`>N s\`, with observed/offered runs beside it.`,
    `- Ticks: every system ticks \`* * * * * *\` at the same time for ${settings.ticks} s (Taskplane: a periodical definition on a scheduler + runner node; BullMQ: \`upsertJobScheduler\` with that pattern; ` +
      `Agenda: \`every('* * * * * *')\`, its cron form — \`every('1 second')\` sets each next run to the last start + 1 s, so its schedule slides and has no fixed instant to drift from). Drift: handler start − the instant the tick was scheduled for.`,
    `- Statistics — ${stats || 'not measured'}.`,
    `- RSS: the worker child's peak (\`process.memoryUsage.rss()\` every 100 ms); workers run ${report.workerLoader} ` +
      `(${systems.map((s) => `${s.label} ${s.workerBaselineMiB === null ? '—' : int(s.workerBaselineMiB)}`).join(', ')} MiB before the system's library loaded).`,
    ...errors.map((error) => `- ${error}`),
  ];
}

export function renderCompareMarkdown(report: CompareReport): string {
  const env = report.environment;
  const mongo = env.ferretdb === 'external' ? `${report.services.servers} external MongoDB server(s)` : `FerretDB ${env.ferretdb}, ${report.services.servers} local servers`;
  const packages = Object.entries(env.packages).map(([name, version]) => `${name} ${version}`).join(', ');
  return [
    ...rows(report.systems, report),
    '',
    ...targetRows(report.targets),
    '',
    `![Drain throughput and create→start latency per system](${report.chart})`,
    '',
    ...notes(report),
    '',
    `Command: \`${env.command}\` · ${env.date.slice(0, 10)} · ${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.memoryGiB} GiB, ${env.machine.os} · Node ${env.node} · ${packages} · ` +
      `${mongo} · Redis ${env.redis} · load average (1 min) ${env.loadAverage.start.toFixed(1)} at start, ${env.loadAverage.peak.toFixed(1)} at peak · whole run ${Math.round(report.wallTimeMs / 1000)} s`,
  ].join('\n');
}
