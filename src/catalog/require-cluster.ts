import { ValidationError } from '../core/errors.js';
import type { Catalog } from './contract.js';

/**
 * The slug of an existing cluster, or a `ValidationError` on `field` that lists the clusters
 * there are. Slugs are generated lowercase, so one typed with capitals still names its cluster.
 * Every place that lets a client name a cluster (launches, definitions, flow steps) checks here.
 */
export async function requireCluster(catalog: Pick<Catalog, 'getCluster' | 'listClusters'>, slug: string, field: string): Promise<string> {
  const lower = slug.toLowerCase();
  if (await catalog.getCluster(lower)) return lower;
  const known = (await catalog.listClusters()).map((cluster) => cluster.slug).sort().join(', ');
  throw new ValidationError(field, `no cluster has slug '${slug}' (clusters: ${known}); create it with mutation { cluster { create(name: …) { slug } } }`);
}
