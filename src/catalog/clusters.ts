import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { TaskplaneError } from '../core/errors.js';
import { nameSchema, parseInput } from '../core/run-input.js';
import { DuplicateDocumentError, type CatalogCollection } from './catalog-collection.js';
import { DEFAULT_CLUSTER, type Cluster } from './contract.js';

/**
 * Clusters in the catalog (collection `clusters`, keyed by slug). A slug is taken by exactly one
 * `create` (a unique `_id` insert); renames and description changes are last-writer-wins replaces
 * that never upsert, so an update racing a delete does not bring the cluster back.
 */

export type ClusterDocument = { _id: string; name: string; description: string | null; createdAt: Date };

export interface ClusterStoreOptions {
  /** Called with the slug before a cluster is deleted; throw to refuse. */
  readonly beforeDelete?: ((slug: string) => Promise<void>) | undefined;
  /** The generated part of a slug. @defaultValue 6 random characters from `[a-z0-9]` */
  readonly slugSuffix?: (() => string) | undefined;
}

const SLUG_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const SLUG_STEM_LENGTH = 40;
/** Generated slugs tried after the first one collides. */
const SLUG_RETRIES = 5;
const descriptionSchema = z.string().max(1000, 'must be at most 1000 characters');

/**
 * A slug given by the caller: the format of generated ones, short enough to be a DNS label (a
 * cluster slug often ends up in host names, queue names and metrics labels).
 */
export const clusterSlugSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and `-`, starting with a letter or digit')
  .refine((slug) => slug !== DEFAULT_CLUSTER, `'${DEFAULT_CLUSTER}' is the default cluster's slug; choose another`);

function randomSlugSuffix(): string {
  return Array.from({ length: 6 }, () => SLUG_ALPHABET[randomInt(SLUG_ALPHABET.length)]).join('');
}

/** `My Cluster (EU)` → `my-cluster-eu`; `cluster` when nothing is left. */
export function slugify(name: string): string {
  const stem = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_STEM_LENGTH)
    .replace(/-+$/, '');
  return stem || 'cluster';
}

function toCluster(doc: ClusterDocument): Cluster {
  return { slug: doc._id, name: doc.name, description: doc.description, createdAt: doc.createdAt };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class ClusterStore {
  readonly #clusters: CatalogCollection<ClusterDocument>;
  readonly #beforeDelete: ((slug: string) => Promise<void>) | undefined;
  readonly #slugSuffix: () => string;

  constructor(clusters: CatalogCollection<ClusterDocument>, options: ClusterStoreOptions = {}) {
    this.#clusters = clusters;
    this.#beforeDelete = options.beforeDelete;
    this.#slugSuffix = options.slugSuffix ?? randomSlugSuffix;
  }

  /** Creates the default cluster unless it exists. */
  async ensureDefault(now: Date): Promise<void> {
    try {
      await this.#clusters.insertOne({ _id: DEFAULT_CLUSTER, name: DEFAULT_CLUSTER, description: 'The cluster runs target when they name none.', createdAt: now });
    } catch (error) {
      if (!(error instanceof DuplicateDocumentError)) throw error;
    }
  }

  async list(): Promise<Cluster[]> {
    const docs = await this.#clusters.findAll();
    // The default cluster first, then by slug.
    return docs
      .map(toCluster)
      .sort((a, b) => Number(b.slug === DEFAULT_CLUSTER) - Number(a.slug === DEFAULT_CLUSTER) || compare(a.slug, b.slug));
  }

  async get(slug: string): Promise<Cluster | null> {
    const doc = await this.#clusters.findOne(slug);
    return doc ? toCluster(doc) : null;
  }

  async create(input: { name: string; slug?: string; description?: string }): Promise<Cluster> {
    const name = parseInput(nameSchema, input.name, 'name');
    const description = input.description === undefined ? null : parseInput(descriptionSchema, input.description, 'description');
    const doc = (slug: string): ClusterDocument => ({ _id: slug, name, description, createdAt: new Date() });

    if (input.slug !== undefined) {
      const slug = parseInput(clusterSlugSchema, input.slug, 'slug');
      const created = doc(slug);
      try {
        await this.#clusters.insertOne(created);
      } catch (error) {
        if (error instanceof DuplicateDocumentError) {
          throw new TaskplaneError('CONFLICT', `cluster slug '${slug}' is taken; choose another, or leave the slug out to get a generated one`, { cause: error });
        }
        throw error;
      }
      return toCluster(created);
    }

    const stem = slugify(name);
    for (let attempt = 0; attempt <= SLUG_RETRIES; attempt++) {
      const created = doc(`${stem}-${this.#slugSuffix()}`);
      try {
        await this.#clusters.insertOne(created);
        return toCluster(created);
      } catch (error) {
        if (!(error instanceof DuplicateDocumentError)) throw error;
      }
    }
    throw new TaskplaneError('CONFLICT', `could not find a free slug for cluster '${name}' after ${SLUG_RETRIES + 1} tries; give one explicitly`);
  }

  async update(slug: string, changes: { name?: string; description?: string | null }): Promise<Cluster | null> {
    // Validated before the read, so a bad input never depends on whether the cluster exists.
    const name = changes.name === undefined ? undefined : parseInput(nameSchema, changes.name, 'name');
    const description =
      changes.description === undefined || changes.description === null
        ? changes.description
        : parseInput(descriptionSchema, changes.description, 'description');
    const current = await this.#clusters.findOne(slug);
    if (!current) return null;
    const updated: ClusterDocument = {
      _id: current._id,
      name: name ?? current.name,
      description: description === undefined ? current.description : description,
      createdAt: current.createdAt,
    };
    return (await this.#clusters.replaceOne(slug, updated, false)) ? toCluster(updated) : null;
  }

  async delete(slug: string): Promise<boolean> {
    if (slug === DEFAULT_CLUSTER) throw new TaskplaneError('CONFLICT', 'the default cluster cannot be deleted');
    if (!(await this.#clusters.findOne(slug))) return false;
    await this.#beforeDelete?.(slug);
    return this.#clusters.deleteOne(slug);
  }
}
