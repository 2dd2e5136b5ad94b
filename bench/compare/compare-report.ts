import type { Environment } from '../lib/environment.js';
import type { LatencySummary } from '../lib/percentiles.js';
import type { CensoredSummary } from './censored-summary.js';
import type { WorkerReport } from './protocol.js';
import type { ClassCounts, CompareSettings, StoreClass, SystemId } from './settings.js';
import type { TargetCheck } from './targets.js';

/** What `npm run bench:compare` measured: the JSON results file, and what the table is rendered from. */

/** What went wrong while a phase measured (not during the worker's shutdown, which is noise). */
export interface ErrorTally {
  readonly failedCommands: number;
  readonly firstFailedCommand: string | null;
  /** Errors the library reported (and, in the steady phase, failed creates). */
  readonly errors: number;
  readonly firstError: string | null;
}

export function errorsOf(report: WorkerReport): ErrorTally {
  return { failedCommands: report.failedCommands, firstFailedCommand: report.firstFailedCommand, errors: report.errors, firstError: report.firstError };
}

export interface Rate {
  readonly runs: number;
  readonly ms: number;
  readonly perSecond: number;
}

export interface DrainRepetition {
  /** Null when the library has no bulk create. */
  readonly bulk: Rate | null;
  readonly oneByOne: Rate;
  readonly drain: {
    /** Runs in the backlog. */
    readonly target: number;
    readonly completed: number;
    /** From the first handler call to the last completion (or to the cut-off). */
    readonly ms: number;
    readonly perSecond: number;
    /** Cut off at the drain cap before the backlog was empty. */
    readonly capped: boolean;
    /** From `start` to the first handler call (connecting, first claim); not in `ms`. */
    readonly startupMs: number | null;
  };
  /** MongoDB commands of the worker between its first handler call and the end of the drain; null for BullMQ. */
  readonly commands: {
    readonly total: number;
    readonly perCompletedRun: number;
    readonly byName: Readonly<Record<string, number>>;
    /** Sent before the first handler call (connecting, indexes, first claim): not in `total`. */
    readonly beforeFirstStart: number;
  } | null;
  readonly rssPeakMiB: number;
  /** The worker child before its system's library was loaded. */
  readonly rssBaselineMiB: number;
  readonly errors: ErrorTally;
  /** Why the worker could not be stopped cleanly after the drain (its RSS peak is then the drain's); null when it stopped. */
  readonly stopFailure: string | null;
}

export interface DrainResult {
  readonly bulkCall: string;
  readonly oneCall: string;
  readonly repetitions: readonly DrainRepetition[];
  /** Medians over the repetitions. */
  readonly median: {
    readonly bulkPerSecond: number | null;
    readonly oneByOnePerSecond: number;
    readonly drainPerSecond: number;
    readonly commandsPerCompletedRun: number | null;
    readonly rssPeakMiB: number;
  };
}

export interface SteadyResult {
  readonly rate: number;
  readonly seconds: number;
  readonly offered: number;
  readonly created: number;
  /** First to last create call. */
  readonly issuedPerSecond: number;
  readonly createCallMs: LatencySummary | null;
  readonly createToStartMs: CensoredSummary;
  readonly createToFinishMs: CensoredSummary;
  /** Where the finish time comes from. */
  readonly finishSource: string;
  readonly rssPeakMiB: number;
  readonly errors: ErrorTally;
}

export interface TickResult {
  readonly expected: number;
  /** Distinct scheduled instants seen in the window. */
  readonly observed: number;
  readonly missed: number;
  /** Handler calls for an instant already seen. */
  readonly duplicates: number;
  /** Handler start − scheduled instant, ms. */
  readonly startDriftMs: LatencySummary | null;
  /** Run stored − scheduled instant, ms (where the system stores the creation apart from the start: Taskplane). */
  readonly fireDriftMs: LatencySummary | null;
  readonly rssPeakMiB: number;
  readonly errors: ErrorTally;
}

export interface StatisticsResult {
  readonly finished: number;
  readonly seededHow: string;
  readonly seedMs: number;
  readonly call: string;
  readonly queriesMs: readonly number[];
  readonly medianMs: number;
  /** What the last query counted as finished (checked against `finished`). */
  readonly counted: number;
}

export interface SystemResult {
  readonly id: SystemId;
  readonly label: string;
  readonly stack: string;
  readonly storeClass: StoreClass;
  readonly counts: ClassCounts;
  readonly drain: DrainResult | null;
  readonly steady: SteadyResult | null;
  readonly ticks: TickResult | null;
  readonly statistics: StatisticsResult | null;
  /** Worker child before any system library was loaded. */
  readonly workerBaselineMiB: number | null;
  /** Phases that failed, with the error: reported, not retried. */
  readonly failures: readonly string[];
}

export interface CompareReport {
  readonly benchmark: 'compare';
  readonly environment: Environment & {
    readonly redis: string;
    readonly packages: Readonly<Record<string, string>>;
    readonly loadAverage: { readonly start: number; readonly peak: number };
  };
  readonly settings: CompareSettings;
  readonly services: { readonly mongo: string; readonly servers: number; readonly redis: string };
  /** How the worker children ran the sources (worker-bundle.ts). */
  readonly workerLoader: string;
  readonly systems: readonly SystemResult[];
  readonly targets: readonly TargetCheck[];
  /** Counts below the issue's, with the reasons. */
  readonly shortfalls: readonly string[];
  readonly chart: string;
  readonly wallTimeMs: number;
}
