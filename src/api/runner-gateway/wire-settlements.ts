import type { JsonValue } from '../../core/types.js';
import type { Settlement } from '../../storage/contract.js';
import type { WireSettlement } from './protocol.js';
import type { RunnerPrincipal } from './runner-tokens.js';

/**
 * Outcomes as a remote runner sends them (`settle`), turned into the store's settlements, with
 * the one rule the gateway adds: subtasks spawned by a token's runs stay in its cluster, or go to
 * the clusters its entry lists in `spawn_clusters`.
 */

/** An outcome whose subtasks leave the token's clusters becomes a failure that says so. */
export function spawnWithin(principal: RunnerPrincipal, wire: WireSettlement): WireSettlement {
  if (wire.outcome.status !== 'completed' || !wire.outcome.spawn) return wire;
  const index = wire.outcome.spawn.findIndex((request) => {
    const cluster = typeof request === 'object' && request !== null ? (request as { cluster?: unknown }).cluster : undefined;
    // Only a string names a cluster: anything else (never String()-ed: a deep array overflows the
    // stack, `{ toString: 1 }` throws) fails the store's check of the subtask, a failed attempt too.
    return typeof cluster === 'string' && cluster !== principal.cluster && !principal.spawnClusters.includes(cluster);
  });
  if (index < 0) return wire;
  const cluster = String((wire.outcome.spawn[index] as { cluster?: unknown }).cluster);
  const allowed = [principal.cluster, ...principal.spawnClusters].map((slug) => `'${slug}'`).join(', ');
  const message =
    `spawn[${index}].cluster: runner token '${principal.name}' may spawn subtasks in ${allowed} only, not in '${cluster}' ` +
    `(an operator can allow it: spawn_clusters in its node.api.runner_tokens entry)`;
  return { lease: wire.lease, outcome: { status: 'failed', error: { message, name: 'ForbiddenSpawnError', stack: null } } };
}

/** A failure is rebuilt as an Error with the runner's message, name and stack, which the store keeps. */
export function toSettlement(wire: WireSettlement): Settlement {
  const { lease, outcome } = wire;
  switch (outcome.status) {
    case 'completed':
      return { lease, outcome: { status: 'completed', result: (outcome.result ?? null) as JsonValue, ...(outcome.spawn ? { spawn: outcome.spawn as never } : {}) } };
    case 'failed': {
      const error = new Error(outcome.error.message);
      error.name = outcome.error.name;
      error.stack = outcome.error.stack ?? undefined;
      return { lease, outcome: { status: 'failed', error } };
    }
    case 'stopped':
      return { lease, outcome: outcome.reason === undefined ? { status: 'stopped' } : { status: 'stopped', reason: outcome.reason } };
    case 'released':
      return { lease, outcome: { status: 'released' } };
  }
}
