/**
 * `npx tsx bench/ferretdb-drain.ts MONGO_URL [RUNS] [DRAIN]`: where a drain's time goes on one
 * MongoDB server. Creates RUNS (default 3,000) runs in a fresh database through the store, then
 * drains DRAIN (default 600) of them in a loop of `take(100)` and `settle`, and prints runs/s,
 * the time of both steps per 100 runs, and the time spent in each MongoDB command (driver command
 * monitoring of the store's own client). The database is dropped at the end.
 *
 * A diagnostic, not part of `npm run bench`: it needs a server (`npm run services` prints URLs).
 */
import { MongoClient } from 'mongodb';
import { leaseOf } from '../src/core/types.js';
import { createTaskStore } from '../src/storage/create-store.js';

const [url, runsArg, drainArg] = process.argv.slice(2);
if (!url?.startsWith('mongodb://')) throw new Error('usage: npx tsx bench/ferretdb-drain.ts mongodb://HOST:PORT/ [RUNS] [DRAIN]');
const runs = Number(runsArg ?? 3000);
const drain = Number(drainArg ?? 600);
const database = `drainprofile${Date.now()}`;

// Times every command of every client this process opens (the store's included).
const commandMs = new Map<string, { count: number; ms: number }>();
const proto = MongoClient.prototype as MongoClient & { __profiled?: true };
const connect = proto.connect;
proto.connect = function connectProfiled(this: MongoClient & { monitorCommands: boolean; __profiled?: true }) {
  if (!this.__profiled) {
    this.__profiled = true;
    this.monitorCommands = true;
    const started = new Map<number, number>();
    this.on('commandStarted', (event) => started.set(event.requestId, performance.now()));
    this.on('commandSucceeded', (event) => {
      const at = started.get(event.requestId);
      if (at === undefined) return;
      started.delete(event.requestId);
      const entry = commandMs.get(event.commandName) ?? { count: 0, ms: 0 };
      entry.count++;
      entry.ms += performance.now() - at;
      commandMs.set(event.commandName, entry);
    });
  }
  return connect.call(this);
} as typeof proto.connect;

const store = createTaskStore({ mongo: { shards: [`${url.replace(/\/?$/, '/')}${database}`] } });
await store.start();
try {
  for (let from = 0; from < runs; from += 1000) {
    await store.createMany(Array.from({ length: Math.min(1000, runs - from) }, (_, i) => ({ funcName: 'bench.noop', args: [from + i] })));
  }
  commandMs.clear();
  const runner = { id: 'profile', cluster: 'default', tags: ['default'], handlers: ['bench.noop'] };
  let takeMs = 0;
  let settleMs = 0;
  let done = 0;
  const started = performance.now();
  while (done < drain) {
    let at = performance.now();
    const taken = await store.take(runner, 100);
    takeMs += performance.now() - at;
    if (taken.runs.length === 0) break;
    at = performance.now();
    await store.settle(taken.runs.map((run) => ({ lease: leaseOf(run), outcome: { status: 'completed' as const, result: null } })));
    settleMs += performance.now() - at;
    done += taken.runs.length;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${done} of ${runs} runs drained in ${seconds.toFixed(1)} s: ${(done / seconds).toFixed(1)} runs/s; per 100 runs take ${((takeMs / done) * 100).toFixed(0)} ms, settle ${((settleMs / done) * 100).toFixed(0)} ms`);
  for (const [name, { count, ms }] of [...commandMs].sort((a, b) => b[1].ms - a[1].ms)) console.log(`  ${name}: ${count} commands, ${Math.round(ms)} ms`);
} finally {
  await store.close();
  const client = new MongoClient(url);
  await client.db(database).dropDatabase().finally(() => client.close());
}
