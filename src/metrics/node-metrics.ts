import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Role } from '../core/members.js';
import type { RunStatus } from '../core/types.js';
import { processRegistry } from './process-metrics.js';

/**
 * A node's Prometheus metrics, in a registry of its own (never prom-client's global one: tests
 * run several nodes in one process, and each must report only its own work).
 *
 * Two kinds of figure, told apart by name:
 * - `taskplane_*` (no `cluster_` after the prefix) are **per node**: what this node did (runs it
 *   created, claimed, settled or swept; its store calls) and its own state (its runner's capacity
 *   and load, its view of shard health). Every change of a run is made by exactly one node, so
 *   `sum` over nodes gives the cluster's totals.
 * - `taskplane_cluster_*` are **cluster-wide** views read from storage and the registry at scrape
 *   time (see `cluster-view.ts`), served by nodes with the api role only. Every api node reports
 *   the same values: aggregate them with `max`, not `sum`.
 *
 * Task names are label values. Anonymous runs are named after their handler, so a series is per
 * task name or handler, not per run; but `create(funcName)` accepts any name (an unknown one
 * becomes an `unknown task` run), so a client could otherwise add series without end. The first
 * `maxNameLabels` distinct names get series of their own; later ones share `name="_other"` and
 * are counted in `taskplane_metric_names_dropped_total`.
 */

/** Status as a label value: `did not start` → `did_not_start`, so PromQL matchers need no spaces. */
export function statusLabel(status: RunStatus | string): string {
  return status.replace(/ /g, '_');
}

export interface NodeMetricsOptions {
  readonly nodeId: string;
  readonly roles: readonly Role[];
  readonly version: string;
  /** Distinct task names that get series of their own. @defaultValue {@link MAX_NAME_LABELS} */
  readonly maxNameLabels?: number;
}

export const MAX_NAME_LABELS = 1000;
/** The `name` label of every task name past the first `maxNameLabels`. */
export const OTHER_NAME = '_other';

const RUN_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
const WAIT_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const STORE_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class NodeMetrics {
  readonly registry = new Registry();

  readonly runsCreated: Counter<'name' | 'cluster'>;
  readonly runsStarted: Counter<'name' | 'cluster'>;
  readonly runsFinished: Counter<'status' | 'name' | 'cluster'>;
  readonly runDuration: Histogram<'name' | 'cluster' | 'outcome'>;
  readonly queueWait: Histogram<'name' | 'cluster'>;
  readonly storeLatency: Histogram<'operation' | 'shard'>;
  readonly storeErrors: Counter<'operation' | 'shard' | 'code'>;
  readonly #namesDropped: Counter;
  readonly #names = new Set<string>();
  readonly #maxNames: number;

  constructor(options: NodeMetricsOptions) {
    const registers = [this.registry];
    this.#maxNames = options.maxNameLabels ?? MAX_NAME_LABELS;
    new Gauge({
      name: 'taskplane_node_info',
      help: 'Per node: always 1; its labels say which node this is and which roles it runs.',
      labelNames: ['node', 'roles', 'version'],
      registers,
    }).set({ node: options.nodeId, roles: [...options.roles].sort().join(','), version: options.version }, 1);

    this.runsCreated = new Counter({
      name: 'taskplane_runs_created_total',
      help: 'Per node: runs this node created (API launches and anonymous tasks, flows, scheduler ticks and continuous restarts, subtasks its runner\'s handlers spawned).',
      labelNames: ['name', 'cluster'],
      registers,
    });
    this.runsStarted = new Counter({
      name: 'taskplane_runs_started_total',
      help: "Per node: attempts this node's runner claimed (a retry is claimed, and counted, again).",
      labelNames: ['name', 'cluster'],
      registers,
    });
    this.runsFinished = new Counter({
      name: 'taskplane_runs_finished_total',
      help:
        'Per node: runs this node brought to a final status (status: completed, failed, lost, stopped, did_not_start, unknown_task). ' +
        'Runners count what they settle, the api counts stops of pending runs, storage nodes count what their sweep expired ' +
        '(with empty name and cluster: a sweep returns counts, not runs).',
      labelNames: ['status', 'name', 'cluster'],
      registers,
    });
    this.runDuration = new Histogram({
      name: 'taskplane_run_duration_seconds',
      help:
        "Per node: seconds from an attempt's claim to its recorded outcome, for attempts this node's runner settled " +
        '(outcome: completed, failed, stopped, lost, retry = failed with attempts left, released = handed back at shutdown).',
      labelNames: ['name', 'cluster', 'outcome'],
      buckets: RUN_SECONDS,
      registers,
    });
    this.queueWait = new Histogram({
      name: 'taskplane_run_queue_wait_seconds',
      help: "Per node: seconds a run waited between becoming due (created, or its retry or delayed start time) and its claim by this node's runner.",
      labelNames: ['name', 'cluster'],
      buckets: WAIT_SECONDS,
      registers,
    });
    this.storeLatency = new Histogram({
      name: 'taskplane_store_operation_duration_seconds',
      help: 'Per node: seconds each storage call of this node took (shard: the one shard it touched, or * when it spanned several).',
      labelNames: ['operation', 'shard'],
      buckets: STORE_SECONDS,
      registers,
    });
    this.storeErrors = new Counter({
      name: 'taskplane_store_operation_errors_total',
      help:
        'Per node: storage calls of this node that a shard failed (code: SHARD_UNAVAILABLE or INTERNAL); a read across shards ' +
        'that one shard did not answer counts once for that shard. Refusals of bad input, unknown ids and conflicts are not counted.',
      labelNames: ['operation', 'shard', 'code'],
      registers,
    });
    this.#namesDropped = new Counter({
      name: 'taskplane_metric_names_dropped_total',
      help: `Per node: observations whose task name was counted as name="${OTHER_NAME}" because this node already labels ${this.#maxNames} distinct names.`,
      registers,
    });
  }

  /** `name` as a label value: itself while the node labels fewer than `maxNameLabels` names, else `_other`. */
  nameLabel(name: string): string {
    if (this.#names.has(name)) return name;
    if (this.#names.size < this.#maxNames) {
      this.#names.add(name);
      return name;
    }
    this.#namesDropped.inc();
    return OTHER_NAME;
  }

  /** The text Prometheus scrapes: this node's families, then the process's default metrics. */
  async render(): Promise<string> {
    const [own, process] = await Promise.all([this.registry.metrics(), processRegistry().metrics()]);
    return `${own}\n${process}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
