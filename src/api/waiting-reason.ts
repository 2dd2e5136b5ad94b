import type { Run } from '../core/types.js';
import type { RunnerView } from './registry.js';

const list = (items: Iterable<string>) => [...new Set(items)].sort().join(', ');

/**
 * Why a pending run is not running yet, in words an operator can act on, worked out from the
 * live registry (runners publish cluster, tags, handlers, capacity and load with each
 * heartbeat). Null when the run is not pending, or when a live runner can take it now (it is
 * claimed on that runner's next wake-up or poll).
 *
 * The checks go from the coarsest routing rule to the finest, so the message names the first
 * thing that rules every runner out.
 */
export function waitingReason(run: Run, runners: readonly RunnerView[], now = new Date()): string | null {
  if (run.status !== 'pending') return null;
  if (run.runAfter.getTime() > now.getTime()) {
    return `due at ${run.runAfter.toISOString()} (${run.attempt > 0 ? `retry backoff after attempt ${run.attempt}` : 'delayed start'})`;
  }
  const expiry = `; it becomes 'did not start' at ${run.expiresAt.toISOString()} unless one comes`;
  const inCluster = runners.filter((r) => r.cluster === run.cluster);
  if (inCluster.length === 0) {
    return `no live runner in cluster ${run.cluster}${expiry}`;
  }
  const withHandler = inCluster.filter((r) => r.handlers.includes(run.funcName));
  if (withHandler.length === 0) {
    return `no live runner in cluster ${run.cluster} registers handler ${run.funcName}${dedicatedNote(inCluster)}${expiry}`;
  }
  const matching = withHandler.filter((r) => r.tags.includes(run.tag));
  if (matching.length === 0) {
    const tags = list(withHandler.flatMap((r) => r.tags));
    return `no live runner in cluster ${run.cluster} with handler ${run.funcName} listens to tag ${run.tag} (they listen to: ${tags})${expiry}`;
  }
  const accepting = matching.filter((r) => r.state === 'running');
  if (accepting.length === 0) {
    return `all ${matching.length} matching runners are draining (shutting down)${expiry}`;
  }
  if (accepting.every((r) => r.load >= r.capacity)) {
    const load = accepting.reduce((sum, r) => sum + r.load, 0);
    const capacity = accepting.reduce((sum, r) => sum + r.capacity, 0);
    return `all ${accepting.length} matching runners are busy (${load} of ${capacity} slots in use)`;
  }
  return null;
}

/**
 * Handlers a runner registers follow its worker group's config: a group with a dedicated handler
 * registers that one only, so a runner that has the run's handler may still not claim it.
 */
function dedicatedNote(runners: readonly RunnerView[]): string {
  const dedicated = runners.filter((r) => r.dedicatedHandler != null);
  if (dedicated.length === 0) return '';
  const groups = [...new Set(dedicated.map((r) => r.group))].sort();
  const handlers = list(dedicated.map((r) => r.dedicatedHandler!));
  return groups.length === 1
    ? ` (worker group ${groups[0]} dedicates its runners there to ${handlers})`
    : ` (worker groups ${groups.join(', ')} dedicate their runners there to ${handlers})`;
}
