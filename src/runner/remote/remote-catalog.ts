import type { Catalog, Cluster, WorkerGroupConfig } from '../../catalog/contract.js';
import type { GatewayClient } from './gateway-client.js';

/** What a runner reads of the catalog; the remote catalog implements exactly this. */
export type RunnerCatalog = Pick<Catalog, 'getCluster' | 'listClusters' | 'getWorkerGroup'>;

interface WireCluster {
  readonly slug: string;
  readonly name: string;
  readonly description: string | null;
  readonly createdAt: string;
}

type WireWorkerGroup = Omit<WorkerGroupConfig, 'updatedAt'> & { readonly updatedAt: string };

/**
 * The runner's catalog reads, over the runner gateway. The gateway shows a runner token its own
 * cluster only: `listClusters` lists that one, and `getCluster` of another slug is refused.
 */
export class RemoteCatalog implements RunnerCatalog {
  readonly #client: GatewayClient;

  constructor(client: GatewayClient) {
    this.#client = client;
  }

  async getCluster(slug: string): Promise<Cluster | null> {
    const { cluster } = await this.#client.get<{ cluster: WireCluster | null }>(`clusters/${encodeURIComponent(slug)}`);
    return cluster ? reviveCluster(cluster) : null;
  }

  async listClusters(): Promise<Cluster[]> {
    const { clusters } = await this.#client.get<{ clusters: WireCluster[] }>('clusters');
    return clusters.map(reviveCluster);
  }

  async getWorkerGroup(name: string): Promise<WorkerGroupConfig | null> {
    const { config } = await this.#client.get<{ config: WireWorkerGroup | null }>(`worker-groups/${encodeURIComponent(name)}`);
    return config ? { ...config, updatedAt: new Date(config.updatedAt) } : null;
  }
}

function reviveCluster(wire: WireCluster): Cluster {
  return { ...wire, createdAt: new Date(wire.createdAt) };
}
