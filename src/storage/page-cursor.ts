import { ValidationError } from '../core/errors.js';
import { LIMITS } from '../core/limits.js';
import { isRunId } from '../core/run-ids.js';

/**
 * A `select` cursor records, for each shard, the last run that shard contributed (its
 * `createdAt` and id): the next page asks each shard only for runs older than its own position.
 * Runs created after the first page are newer than every position, so they never shift later
 * pages. A shard that was down while a page was read keeps its earlier position, so its runs
 * show up on a later page instead of being skipped.
 *
 * Format: base64url of `{"v":1,"p":{"<shard>":[<createdAt ms>,"<run id>"] | null}}`.
 */
export type ShardPosition = readonly [createdAtMs: number, id: string] | null;
export type CursorPositions = ReadonlyMap<string, ShardPosition>;

export function encodeCursor(positions: CursorPositions): string {
  return Buffer.from(JSON.stringify({ v: 1, p: Object.fromEntries(positions) })).toString('base64url');
}

export function decodeCursor(cursor: string, field = 'after'): Map<string, ShardPosition> {
  const bad = (why: string) => new ValidationError(field, `is not a valid cursor (${why}); pass an endCursor from a previous page`);
  if (cursor.length === 0 || cursor.length > LIMITS.cursorLength || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw bad('malformed');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not decodable');
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== 1) throw bad('unknown version');
  const positions = (parsed as { p?: unknown }).p;
  if (typeof positions !== 'object' || positions === null || Array.isArray(positions)) throw bad('no positions');
  const result = new Map<string, ShardPosition>();
  for (const [shard, position] of Object.entries(positions)) {
    if (position === null) {
      result.set(shard, null);
      continue;
    }
    if (
      !Array.isArray(position) ||
      position.length !== 2 ||
      !Number.isSafeInteger(position[0]) ||
      typeof position[1] !== 'string' ||
      !isRunId(position[1])
    ) {
      throw bad(`bad position for shard ${shard}`);
    }
    result.set(shard, [position[0] as number, position[1]]);
  }
  return result;
}
