import { MongoClient } from 'mongodb';
import { RUN_STATUSES } from '../../src/core/types.js';

/**
 * Reads every run straight from the shards (raw documents, not through Taskplane's code) and
 * lists what a half-written or inconsistent run would show:
 * - a status outside the eight, or a field its status requires missing or of the wrong type
 *   (a running run without runner, deadline and start; a finished one without `finishedAt`; a
 *   completed one without a JSON result; a failed one without its error);
 * - payloads that are not JSON text; attempts outside 0…maxAttempts;
 * - a revision marker for the run's current revision older than `SETTLE_MS`: a writer won the
 *   change (step 1 of `transitions.ts`) and never wrote it (step 2);
 * - a finished run whose job follow-up (`followUp`) is still pending long after it ended.
 */

const SETTLE_MS = 10_000;
const FOLLOW_UP_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface StorageReport {
  readonly runs: number;
  readonly byStatus: Record<string, number>;
  readonly problems: string[];
}

type Doc = Record<string, unknown>;

export async function checkStoredRuns(shardUrls: readonly string[]): Promise<StorageReport> {
  const problems: string[] = [];
  const byStatus: Record<string, number> = {};
  let runs = 0;
  const now = Date.now();
  for (const [index, url] of shardUrls.entries()) {
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
    try {
      const db = client.db();
      const docs = (await db.collection('runs').find({}).toArray()) as Doc[];
      const markers = new Map(((await db.collection('run_revisions').find({}).toArray()) as Doc[]).map((m) => [String(m._id), m]));
      for (const doc of docs) {
        runs++;
        const status = String(doc.status);
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        for (const problem of problemsOf(doc)) problems.push(`shard ${index}, run ${String(doc._id)} (${status}): ${problem}`);
        const marker = markers.get(`${String(doc._id)}:${String(doc.rev)}`);
        if (marker && marker.at instanceof Date && now - marker.at.getTime() > SETTLE_MS) {
          problems.push(`shard ${index}, run ${String(doc._id)}: revision ${String(doc.rev)} was claimed by a writer at ${marker.at.toISOString()} and never written`);
        }
        if (doc.followUp === true && doc.finishedAt instanceof Date && now - doc.finishedAt.getTime() > FOLLOW_UP_MS) {
          problems.push(`shard ${index}, run ${String(doc._id)}: its job follow-up is still pending ${Math.round((now - doc.finishedAt.getTime()) / 1000)} s after it ended`);
        }
      }
    } finally {
      await client.close();
    }
  }
  return { runs, byStatus, problems };
}

function problemsOf(doc: Doc): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const isDate = (key: string) => doc[key] instanceof Date && !Number.isNaN((doc[key] as Date).getTime());
  const isNull = (key: string) => doc[key] === null || doc[key] === undefined;
  const isJson = (key: string) => {
    if (typeof doc[key] !== 'string') return false;
    try {
      JSON.parse(doc[key] as string);
      return true;
    } catch {
      return false;
    }
  };
  const status = doc.status as string;
  need((RUN_STATUSES as readonly string[]).includes(status), `status '${status}' is not one of the eight`);
  need(typeof doc._id === 'string' && UUID.test(doc._id), 'id is not a UUID');
  need(typeof doc.jobId === 'string' && UUID.test(doc.jobId), 'jobId is not a UUID');
  for (const key of ['name', 'funcName', 'cluster', 'tag', 'kind']) need(typeof doc[key] === 'string' && doc[key] !== '', `${key} is missing`);
  for (const key of ['createdAt', 'runAfter', 'expiresAt']) need(isDate(key), `${key} is not a date`);
  need(isJson('args'), 'args is not JSON text');
  need(isNull('result') || isJson('result'), 'result is neither null nor JSON text');
  need(Number.isInteger(doc.rev) && (doc.rev as number) >= 0, 'rev is not a revision number');
  need(Array.isArray(doc.history), 'history is not a list');
  const attempt = doc.attempt as number;
  need(Number.isInteger(attempt) && attempt >= 0 && attempt <= (doc.maxAttempts as number), `attempt ${String(attempt)} is outside 0…maxAttempts (${String(doc.maxAttempts)})`);
  switch (status) {
    case 'pending':
      need(isNull('finishedAt') && isNull('deadline'), 'a pending run with finishedAt or deadline');
      break;
    case 'running':
      need(typeof doc.runner === 'string' && doc.runner !== '', 'a running run without its runner');
      need(isDate('deadline') && isDate('startedAt'), 'a running run without deadline or startedAt');
      need(isNull('finishedAt'), 'a running run with finishedAt');
      need(attempt >= 1, 'a running run at attempt 0');
      break;
    default:
      need(isDate('finishedAt'), 'a finished run without finishedAt');
      need(isNull('deadline'), 'a finished run that still holds a lease deadline');
      if (status === 'completed') need(isJson('result'), 'a completed run without a JSON result');
      if (status === 'failed') need(typeof (doc.error as { message?: unknown } | null)?.message === 'string', 'a failed run without its error');
  }
  return problems;
}
