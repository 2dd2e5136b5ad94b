import type { TaskplaneNode } from '../../src/node/taskplane-node.js';
import { preview } from '../api/fuzz-values.js';
import type { GatewayClient } from './runner-gateway-fuzz-client.js';

/**
 * The registry probe of the runner gateway fuzz test (runner-gateway-fuzz.test.ts): what
 * heartbeats registered must read back for the operator. The test runs it every hundred requests
 * of the fuzz, at the end, and in the regression case of a heartbeat that broke the `runners` query.
 */

export interface RegistryProbeContext {
  readonly client: GatewayClient;
  readonly node: TaskplaneNode;
  /** Runner id → the request whose heartbeat registered it last (for probe reports). */
  readonly registeredBy: ReadonlyMap<string, string>;
}

/**
 * What heartbeats registered must read back for the operator: `runners` through GraphQL, with
 * every field. A failure names the registry entries that do not read back and who sent them.
 */
export async function probeRegistry({ client, node, registeredBy }: RegistryProbeContext): Promise<string[]> {
  const answer = await client.gql<{ runners: Array<{ id: string; cluster: string }> }>('{ runners { id node cluster group tags handlers capacity load state startedAt lastHeartbeat } }');
  if (!answer.errors) return [];
  const members = await node.coordinator.members('runner');
  const unreadable = members.filter((member) => Number.isNaN(new Date(String((member.info as { startedAt?: unknown } | null)?.startedAt)).getTime()));
  return [
    `runners query answered ${preview(JSON.stringify(answer.errors), 300)}; registry entries with a startedAt that is not a date: ` +
      (unreadable.map((member) => `${member.id} (${preview(JSON.stringify(member.info), 300)}), registered by ${registeredBy.get(member.id) ?? '?'}`).join('; ') || 'none'),
  ];
}
