import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * prom-client's default metrics (CPU, memory, event-loop lag, GC, handles …) describe the
 * process, not a node, and collecting them installs process-wide observers that are never
 * removed. So they live in one registry per process, shared by every node in it (tests run
 * several), instead of prom-client's global default registry or one copy per node.
 */
let shared: Registry | null = null;

export function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}
