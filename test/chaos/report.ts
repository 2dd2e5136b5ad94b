import type { ScenarioReport } from './scenario.js';

/**
 * How fault-suite results read: one scenario in a few lines (test output, the long form's log),
 * and the long form's Markdown tables (bench/results/chaos-latest.md and the README).
 */

/** One scenario's outcome in a few lines. */
export function describeReport(report: ScenarioReport): string {
  const status = report.violations.length === 0 ? 'PASS' : `FAIL (${report.violations.length} violations)`;
  const byStatus = report.summary ? Object.entries(report.summary.byStatus).map(([name, n]) => `${name} ${n}`).join(', ') : '-';
  const figures = Object.entries(report.figures).map(([key, value]) => `${key}=${value}`).join(' ');
  const audit = report.summary
    ? `runs ${report.summary.runs} (${byStatus}); attempts begun ${report.summary.begun}, side effects ${report.summary.sideEffects}, explained repeats ${report.summary.explainedRepeats}, lease expiries ${report.summary.leaseExpired}, released ${report.summary.released}`
    : 'no audit';
  return `${report.name} [${report.form}] ${status} in ${report.seconds} s\n  ${audit}\n  ${figures}${report.keptDir ? `\n  kept ${report.keptDir}` : ''}`;
}

export interface ChaosRunReport {
  readonly benchmark: 'chaos';
  readonly environment: {
    readonly date: string;
    readonly command: string;
    readonly machine: { readonly cpu: string; readonly cores: number; readonly memoryGiB: number; readonly os: string };
    readonly node: string;
    readonly ferretdb: string;
    readonly loadAverage: { readonly start: number; readonly peak: number };
  };
  readonly form: string;
  readonly passed: boolean;
  readonly wallTimeSeconds: number;
  readonly scenarios: readonly ScenarioReport[];
}

const n = (value: unknown) => (typeof value === 'number' ? value.toLocaleString('en-US') : value === undefined ? '—' : String(value));
const status = (report: ScenarioReport) => (report.violations.length === 0 ? 'pass' : `**FAIL** (${report.violations.length})`);

/** What each scenario shows beyond the audit, in words. */
function keyFigures(report: ScenarioReport): string {
  const f = report.figures;
  switch (report.name) {
    case 'runner-kill':
      return `${n(f['kills'])} SIGKILLs, ${n(f['killedInsideHandler'])} handlers killed mid-run, ${n(f['attemptsCutByKills'])} attempts swept`;
    case 'scheduler-failover':
      return `${n(f['failovers'])} failovers, takeover ≤ ${n(f['maxTakeoverMs'])} ms, ${n(f['ticks'])} ticks, longest gap ${n(f['maxTickGapMs'])} ms`;
    case 'storage-failover':
      return `${n(f['rounds'])} rounds, shard leases taken over ≤ ${n(f['maxLeaseTakeoverMs'])} ms, dead runner's runs final ≤ ${n(f['maxKillToFinishedMs'])} ms after the kill`;
    case 'shard-outage':
      return `${n(f['outageMs'])} ms down, ${n(f['refusedShardUnavailable'])} creates refused SHARD_UNAVAILABLE, ${n(f['finishedOnLiveShardsDuring'])} runs finished on the live shards meanwhile (${n(f['finishedOnLiveShardsBefore'])} in as long before), all final ${n(f['restartToAllFinishedMs'])} ms after the restart`;
    case 'redis-outage':
      return `${n(f['outageMs'])} ms down, ${n(f['completedDuringOutage'])} of ${n(f['createdDuringOutage'])} runs created meanwhile completed (polling), leases + heartbeats back in ${n(f['leasesAndHeartbeatsBackMs'])} ms, ${n(f['victimRunsRetried'])} runs of the runner killed meanwhile retried`;
    case 'runner-pause':
      return `${n(f['pauses'])} SIGSTOPs of ${n(f['pauseMs'])} ms under load`;
    case 'load':
      return `${n(f['restartsSigkill'])} SIGKILL + ${n(f['restartsSigterm'])} SIGTERM restarts${f['note'] ? `; ${String(f['note'])}` : ''}`;
    default:
      return '';
  }
}

/** The long form's tables and footer, as written to chaos-latest.md and the README. */
export function renderChaosMarkdown(run: ChaosRunReport): string {
  const lines = [
    '| scenario | result | runs | completed | failed | lost | attempts begun | side effects | explained repeats | s | what happened |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const report of run.scenarios) {
    const s = report.summary;
    lines.push(
      `| ${report.name} | ${status(report)} | ${n(s?.runs)} | ${n(s?.byStatus.completed ?? 0)} | ${n(s?.byStatus.failed ?? 0)} | ${n(s?.byStatus.lost ?? 0)} | ${n(s?.begun)} | ${n(s?.sideEffects)} | ${n(s?.explainedRepeats)} | ${n(report.seconds)} | ${keyFigures(report)} |`,
    );
  }
  const load = run.scenarios.find((report) => report.name === 'load');
  if (load) {
    const f = load.figures;
    lines.push(
      '',
      '| load | planned | created | runs/s | create→finish p50 ms | p99 ms | max ms | completed | failed (planned) | lost | lease-expired attempts | released attempts |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| 2 runners × 32, 10% failing, restarts | ${n(f['plannedRuns'])} | ${n(f['created'])} | ${n(f['runsPerSecond'])} | ${n(f['latencyP50Ms'])} | ${n(f['latencyP99Ms'])} | ${n(f['latencyMaxMs'])} | ${n(f['completed'])} | ${n(f['failed'])} | ${n(f['lost'])} | ${n(f['leaseExpiredAttempts'])} | ${n(f['releasedAttempts'])} |`,
    );
  }
  const failures = run.scenarios.filter((report) => report.violations.length > 0);
  for (const report of failures) {
    lines.push('', `${report.name} violations (first 5): ${report.violations.slice(0, 5).map((v) => `\`${v.split('\n')[0]!.slice(0, 300)}\``).join('; ')}`);
  }
  const env = run.environment;
  lines.push(
    '',
    `Command: \`${env.command}\` · ${env.date.slice(0, 10)} · ${env.machine.cpu}, ${env.machine.cores} cores, ${env.machine.memoryGiB} GiB, ${env.machine.os} · Node ${env.node} · FerretDB ${env.ferretdb} · load average (1 min) ${env.loadAverage.start.toFixed(1)} at start, ${env.loadAverage.peak.toFixed(1)} at peak · whole run ${Math.round(run.wallTimeSeconds)} s · ${run.passed ? 'every audit passed' : `${failures.length} scenario(s) failed`}`,
  );
  return lines.join('\n');
}
