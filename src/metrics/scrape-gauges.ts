import { Counter, Gauge } from 'prom-client';
import { toRunnerView } from '../api/registry.js';
import type { Catalog } from '../catalog/contract.js';
import type { Coordinator } from '../coordination/contract.js';
import { coerceError } from '../core/errors.js';
import type { TaskStore } from '../storage/contract.js';
import { cachedRead } from './cached-read.js';
import type { NodeMetrics } from './node-metrics.js';

/**
 * Gauges computed when Prometheus scrapes, from reads shared for `cacheMs` (see `cachedRead`):
 *
 * - per node: this node's runner (capacity, load) and its view of shard health (a ping each);
 * - cluster-wide (`taskplane_cluster_*`, only where `clusterWide` is set — the api nodes): pending
 *   and running runs per cluster (`statistics` grouped by cluster, one aggregation per shard),
 *   live runners with their capacity and load per cluster and worker group (the coordinator's
 *   registry), and who holds the scheduler and `storage:<shard>` leases.
 *
 * A read that fails leaves its families empty for that scrape (the others are still served),
 * counts in `taskplane_scrape_read_errors_total` and is logged.
 */

export interface RunnerState {
  readonly cluster: string;
  readonly group: string;
  readonly capacity: number;
  readonly load: number;
}

export interface ScrapeSources {
  readonly store: Pick<TaskStore, 'health' | 'statistics'>;
  readonly coordinator: Pick<Coordinator, 'members' | 'listLeases'>;
  /** Lists clusters so that a cluster with no runs shows 0 pending rather than nothing. */
  readonly catalog?: Pick<Catalog, 'listClusters'>;
  /** This node's runner, when it has the role. */
  readonly runner?: () => RunnerState | null;
  /** Serve the `taskplane_cluster_*` families. @defaultValue false */
  readonly clusterWide?: boolean;
  /** How long one read serves scrapes. @defaultValue 5000 */
  readonly cacheMs?: number;
  readonly log?: { warn(obj: object, msg: string): void };
}

const LEASE_PREFIXES = ['scheduler', 'storage:'];

export function registerScrapeGauges(metrics: NodeMetrics, sources: ScrapeSources): void {
  const registers = [metrics.registry];
  const cacheMs = sources.cacheMs ?? 5000;
  const errors = new Counter({
    name: 'taskplane_scrape_read_errors_total',
    help: 'Per node: reads for scrape-time gauges that failed (source: health, statistics, registry, leases, clusters); their gauges were left out of that scrape.',
    labelNames: ['source'],
    registers,
  });
  /** Runs `read`; on failure counts, logs and returns null so the gauge stays empty. */
  const guarded = <T>(source: string, read: () => Promise<T>): (() => Promise<T | null>) => {
    const cached = cachedRead(read, cacheMs);
    return () =>
      cached().catch((error: unknown) => {
        errors.inc({ source });
        sources.log?.warn({ err: coerceError(error), source }, 'a metrics read failed; its gauges are left out of this scrape');
        return null;
      });
  };

  const runner = sources.runner;
  if (runner) {
    const gauge = (name: string, help: string, pick: (state: RunnerState) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['cluster', 'group'],
        registers,
        collect() {
          this.reset();
          const state = runner();
          if (state) this.set({ cluster: state.cluster, group: state.group }, pick(state));
        },
      });
    gauge('taskplane_runner_capacity', "Per node: this node's runner capacity (runs at once).", (s) => s.capacity);
    gauge('taskplane_runner_load', "Per node: runs this node's runner is executing now.", (s) => s.load);
  }

  const health = guarded('health', () => sources.store.health());
  new Gauge({
    name: 'taskplane_shard_up',
    help: 'Per node: 1 when the shard answered this node\'s ping, 0 when it did not.',
    labelNames: ['shard'],
    registers,
    async collect() {
      const shards = await health();
      this.reset();
      for (const shard of shards ?? []) this.set({ shard: shard.shard }, shard.ok ? 1 : 0);
    },
  });

  if (sources.clusterWide) registerClusterGauges(metrics, sources, guarded);
}

function registerClusterGauges(
  metrics: NodeMetrics,
  sources: ScrapeSources,
  guarded: <T>(source: string, read: () => Promise<T>) => () => Promise<T | null>,
): void {
  const registers = [metrics.registry];
  const statistics = guarded('statistics', () => sources.store.statistics({ groupBy: 'cluster' }));
  const catalog = sources.catalog;
  const clusters = guarded('clusters', async () => (catalog ? (await catalog.listClusters()).map((c) => c.slug) : []));
  const runners = guarded('registry', async () =>
    (await sources.coordinator.members('runner')).flatMap((member) => {
      const view = toRunnerView(member);
      return view ? [view] : [];
    }),
  );
  const leases = guarded('leases', async () => (await Promise.all(LEASE_PREFIXES.map((prefix) => sources.coordinator.listLeases(prefix)))).flat());

  const runsIn = (status: 'pending' | 'running') =>
    async function collect(this: Gauge<'cluster'>): Promise<void> {
      const [stats, slugs] = await Promise.all([statistics(), clusters()]);
      this.reset();
      if (!stats) return;
      for (const slug of slugs ?? []) this.set({ cluster: slug }, 0);
      for (const group of stats.groups) this.set({ cluster: group.key }, group.counts[status]);
    };
  new Gauge({
    name: 'taskplane_cluster_pending_runs',
    help: 'Cluster-wide (api nodes; aggregate with max): pending runs per cluster, waiting for a runner or due later.',
    labelNames: ['cluster'],
    registers,
    collect: runsIn('pending'),
  });
  new Gauge({
    name: 'taskplane_cluster_running_runs',
    help: 'Cluster-wide (api nodes; aggregate with max): running runs per cluster.',
    labelNames: ['cluster'],
    registers,
    collect: runsIn('running'),
  });

  new Gauge({
    name: 'taskplane_cluster_runners',
    help: 'Cluster-wide (api nodes; aggregate with max): live runners in the registry per cluster, worker group and state (running, draining).',
    labelNames: ['cluster', 'group', 'state'],
    registers,
    async collect() {
      const views = await runners();
      this.reset();
      for (const view of views ?? []) this.inc({ cluster: view.cluster, group: view.group, state: view.state });
    },
  });
  const runnerSum = (name: string, help: string, pick: (view: { capacity: number; load: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['cluster', 'group'],
      registers,
      async collect() {
        const views = await runners();
        this.reset();
        for (const view of views ?? []) this.inc({ cluster: view.cluster, group: view.group }, pick(view));
      },
    });
  runnerSum('taskplane_cluster_runner_capacity', 'Cluster-wide (api nodes; aggregate with max): total capacity of the live runners per cluster and worker group.', (v) => v.capacity);
  runnerSum('taskplane_cluster_runner_load', 'Cluster-wide (api nodes; aggregate with max): runs the live runners are executing, per cluster and worker group, as of their last heartbeat.', (v) => v.load);

  new Gauge({
    name: 'taskplane_cluster_lease_holder',
    help: 'Cluster-wide (api nodes; aggregate with max): 1 for each held lease (scheduler, storage:<shard>) and the node that holds it.',
    labelNames: ['lease', 'holder'],
    registers,
    async collect() {
      const held = await leases();
      this.reset();
      for (const lease of held ?? []) this.set({ lease: lease.name, holder: lease.holder }, 1);
    },
  });
}
