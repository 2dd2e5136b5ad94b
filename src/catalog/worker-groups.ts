import { z } from 'zod';
import { funcNameSchema, parseInput, tagSchema } from '../core/run-input.js';
import type { CatalogCollection } from './catalog-collection.js';
import type { WorkerGroupConfig, WorkerGroupInput } from './contract.js';

/**
 * Worker-group configs in the catalog (collection `worker_groups`, keyed by group name).
 *
 * Tag priorities are stored as an array of `{ tag, priority }` pairs, never as an object keyed by
 * tag: tags are user strings, and a user string as a document key could hold `.` or start with
 * `$`, which MongoDB and FerretDB refuse or misread.
 *
 * A put replaces the whole config (last writer wins, as for definitions); everything is validated
 * before the single replace, so a bad input writes nothing.
 */

export const WORKER_GROUP_LIMITS = {
  /** Tags in `tags`, and entries in `tagPriorities`. */
  tags: 50,
  /** Absolute value of a tag priority. */
  priority: 1_000_000,
  /** Characters of `initCommand`. */
  initCommandLength: 8 * 1024,
} as const;

/** A group name follows the tag format, as `WORKER_GROUP` does. */
export const groupNameSchema = tagSchema;

const uniqueTags = (tags: readonly string[], ctx: z.RefinementCtx, what: (index: number) => (string | number)[]) => {
  const seen = new Set<string>();
  tags.forEach((tag, index) => {
    if (seen.has(tag)) ctx.addIssue({ code: 'custom', path: what(index), message: `lists tag '${tag}' twice` });
    seen.add(tag);
  });
};

export const workerGroupInputSchema = z
  .strictObject({
    name: groupNameSchema,
    tags: z.array(tagSchema).max(WORKER_GROUP_LIMITS.tags, `must list at most ${WORKER_GROUP_LIMITS.tags} tags`).nullish(),
    tagPriorities: z
      .array(
        z.strictObject({
          tag: tagSchema,
          priority: z
            .number()
            .int('must be an integer')
            .min(-WORKER_GROUP_LIMITS.priority, `must be from -${WORKER_GROUP_LIMITS.priority} to ${WORKER_GROUP_LIMITS.priority}`)
            .max(WORKER_GROUP_LIMITS.priority, `must be from -${WORKER_GROUP_LIMITS.priority} to ${WORKER_GROUP_LIMITS.priority}`),
        }),
      )
      .max(WORKER_GROUP_LIMITS.tags, `must list at most ${WORKER_GROUP_LIMITS.tags} tags`)
      .nullish(),
    dedicatedHandler: funcNameSchema.nullish(),
    initCommand: z
      .string()
      .max(WORKER_GROUP_LIMITS.initCommandLength, `must be at most ${WORKER_GROUP_LIMITS.initCommandLength} characters`)
      .refine((command) => command.trim() !== '', 'must not be blank (give null for no init command)')
      .refine((command) => !command.includes('\u0000'), 'must not contain NUL characters')
      .nullish(),
  })
  .superRefine((input, ctx) => {
    if (input.tags) uniqueTags(input.tags, ctx, (index) => ['tags', index]);
    if (input.tagPriorities) uniqueTags(input.tagPriorities.map((p) => p.tag), ctx, (index) => ['tagPriorities', index, 'tag']);
  });

export type WorkerGroupDocument = {
  _id: string;
  tags: string[];
  tagPriorities: Array<{ tag: string; priority: number }>;
  dedicatedHandler: string | null;
  initCommand: string | null;
  updatedAt: Date;
};

function fromDocument(doc: WorkerGroupDocument): WorkerGroupConfig {
  return Object.freeze({
    name: doc._id,
    tags: Object.freeze([...(doc.tags ?? [])]),
    tagPriorities: Object.freeze((doc.tagPriorities ?? []).map((p) => Object.freeze({ tag: p.tag, priority: p.priority }))),
    dedicatedHandler: doc.dedicatedHandler ?? null,
    initCommand: doc.initCommand ?? null,
    updatedAt: doc.updatedAt,
  });
}

/** The catalog's worker-group part, over one collection. */
export class WorkerGroupStore {
  readonly #groups: CatalogCollection<WorkerGroupDocument>;

  constructor(groups: CatalogCollection<WorkerGroupDocument>) {
    this.#groups = groups;
  }

  async list(): Promise<WorkerGroupConfig[]> {
    return (await this.#groups.findAll()).map(fromDocument).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async get(name: string): Promise<WorkerGroupConfig | null> {
    const doc = await this.#groups.findOne(name);
    return doc ? fromDocument(doc) : null;
  }

  async put(input: WorkerGroupInput): Promise<WorkerGroupConfig> {
    const parsed = parseInput(workerGroupInputSchema, input, 'input');
    const doc: WorkerGroupDocument = {
      _id: parsed.name,
      tags: [...(parsed.tags ?? [])],
      tagPriorities: (parsed.tagPriorities ?? []).map(({ tag, priority }) => ({ tag, priority })),
      dedicatedHandler: parsed.dedicatedHandler ?? null,
      initCommand: parsed.initCommand ?? null,
      updatedAt: new Date(),
    };
    await this.#groups.replaceOne(doc._id, doc, true);
    return fromDocument(doc);
  }

  delete(name: string): Promise<boolean> {
    return this.#groups.deleteOne(name);
  }
}

/**
 * The coordinator channel that says a group's config changed: `{ name }`. Its runners re-read it
 * at once; they also re-read it every few seconds, since a message can be lost.
 */
export const WORKER_GROUPS_CHANNEL = 'config:worker-groups' as const;
