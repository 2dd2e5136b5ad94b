import type { WorkerGroupConfig } from '../catalog/contract.js';

/**
 * What a runner claims, worked out from its own config and its worker group's stored config.
 * Pure, so the rules are tested without processes:
 *
 * - tags: the group's tags, plus the runner's own `WORKER_TAGS` when those were set explicitly,
 *   when the group names tags; else the runner's own tags (with `default`, as configured).
 * - claim levels: the tags grouped by the group's tag priorities, highest first. A tag the group
 *   gives no priority has 0. When every tag has the same priority there is one level, so the
 *   common case costs one `take`.
 * - handlers: the group's dedicated handler alone when it names one — or none at all when this
 *   runner does not have it (`problem` says so); else every handler the runner loaded.
 */

export interface OwnRouting {
  /** Tags listened to without a group config (`NodeConfig.runner.tags`: the configured ones plus `default`). */
  readonly tags: readonly string[];
  /** Tags set explicitly (`WORKER_TAGS`, `node.runner.tags`), or null when none were. */
  readonly ownTags: readonly string[] | null;
  /** Handlers the runner loaded. */
  readonly handlers: readonly string[];
}

export interface Routing {
  readonly tags: readonly string[];
  /** Tags by claim priority, highest first; never empty while `tags` is not. */
  readonly levels: ReadonlyArray<readonly string[]>;
  readonly handlers: readonly string[];
  /** The group's dedicated handler, when it names one. */
  readonly dedicatedHandler: string | null;
  /** Why the group's config cannot be followed here (the runner then claims nothing), or null. */
  readonly problem: string | null;
}

export function effectiveRouting(own: OwnRouting, group: WorkerGroupConfig | null): Routing {
  const tags =
    group && group.tags.length > 0 ? unique([...group.tags, ...(own.ownTags ?? [])]) : unique([...own.tags]);

  const priorities = new Map((group?.tagPriorities ?? []).map((p) => [p.tag, p.priority]));
  const byPriority = new Map<number, string[]>();
  for (const tag of tags) {
    const priority = priorities.get(tag) ?? 0;
    byPriority.set(priority, [...(byPriority.get(priority) ?? []), tag]);
  }
  const levels = [...byPriority.entries()].sort(([a], [b]) => b - a).map(([, level]) => level);

  const dedicated = group?.dedicatedHandler ?? null;
  let handlers = [...own.handlers];
  let problem: string | null = null;
  if (dedicated !== null) {
    handlers = own.handlers.includes(dedicated) ? [dedicated] : [];
    if (handlers.length === 0) {
      const known = own.handlers.length > 0 ? own.handlers.slice(0, 10).join(', ') + (own.handlers.length > 10 ? ', …' : '') : 'none';
      problem =
        `worker group '${group!.name}' dedicates its runners to handler '${dedicated}', which this runner does not have ` +
        `(its handlers: ${known}); it registers no handlers and claims nothing until the group's config or the runner's modules change`;
    }
  }
  return { tags, levels, handlers, dedicatedHandler: dedicated, problem };
}

/** Whether two routings claim the same runs in the same order. */
export function sameRouting(a: Routing, b: Routing): boolean {
  return JSON.stringify([a.levels, a.handlers, a.dedicatedHandler]) === JSON.stringify([b.levels, b.handlers, b.dedicatedHandler]);
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
