import type { Catalog } from '../catalog/contract.js';
import { TaskplaneError } from '../core/errors.js';

/**
 * A runner's cluster must exist: a runner of an unknown cluster would register, look healthy and
 * never get a run (runs only target clusters that exist), so it refuses to start instead. The
 * code is `CONFIG_INVALID` because the fix is the runner's config (or creating the cluster), and
 * the node exits with status 2 as for any bad config.
 */
export class UnknownClusterError extends TaskplaneError {
  readonly slug: string;
  readonly existing: readonly string[];

  constructor(slug: string, existing: readonly string[]) {
    const listed = existing.length > 20 ? `${existing.slice(0, 20).join(', ')} and ${existing.length - 20} more` : existing.join(', ');
    super(
      'CONFIG_INVALID',
      `runner cluster '${slug}' (RUNNER_CLUSTER or node.runner.cluster) does not exist; existing clusters: ${listed}. ` +
        `Create it first (mutation { cluster { create(name: "${slug}", slug: "${slug}") { slug } } }) or point the runner at an existing cluster.`,
    );
    this.slug = slug;
    this.existing = existing;
  }
}

export async function checkRunnerCluster(catalog: Pick<Catalog, 'getCluster' | 'listClusters'>, slug: string): Promise<void> {
  if (await catalog.getCluster(slug)) return;
  throw new UnknownClusterError(slug, (await catalog.listClusters()).map((cluster) => cluster.slug));
}
