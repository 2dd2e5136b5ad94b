import { TaskplaneClient, TaskplaneClientError } from '../../../src/client/taskplane-client.js';
import { withDatabase } from '../../services/database-url.js';
import { startFerretDb, type FerretDbProcess } from '../../services/processes.js';
import { databaseUrls, eventually, sleep } from '../harness.js';
import { runScenario, waitUntilSettled, type ScenarioContext, type ScenarioReport } from '../scenario.js';
import { CHAOS_SIZES } from '../sizes.js';
import { Producer } from './producer.js';

const DEAD = 'shard-2';

/**
 * A FerretDB shard killed (SIGKILL) and restarted: shards 0 and 1 live on the shared test servers,
 * shard 2 on a FerretDB process of the scenario's own. An api node, a storage node and two runners
 * run while a client creates runs through GraphQL at a steady rate. While shard 2 is down:
 * creates that land on it and reads of its runs answer `SHARD_UNAVAILABLE`, listings name it
 * under `unavailableShards`, and runs on the other shards keep completing. After the restart its
 * backlog drains and every run — on every shard — completes: nothing is lost.
 */
export function shardOutageScenario(ctx: ScenarioContext): Promise<ScenarioReport> {
  const size = CHAOS_SIZES[ctx.form].shard;
  let ferret: FerretDbProcess | null = null;
  return (async () => {
    ferret = await startFerretDb();
    const mongoUrls = [...databaseUrls(ctx.services.mongoBaseUrls.slice(0, 2), 'shard-outage'), withDatabase(ferret.url, `tpchaos_shard_outage_own`)];
    return runScenario(
      ctx,
      { name: 'shard-outage', title: 'a FerretDB shard killed and restarted' },
      { mongoUrls, redisUrl: ctx.services.redisUrl },
      async (cluster) => {
        const runner = { roles: ['runner'], runner: { capacity: 10 } };
        await Promise.all([
          cluster.startNode('api-1', { roles: ['api'], listen: '127.0.0.1:0' }),
          cluster.startNode('storage-1', { roles: ['storage'] }),
          cluster.startNode('runner-1', runner),
          cluster.startNode('runner-2', runner),
        ]);
        const client = new TaskplaneClient({ url: cluster.node('api-1').graphqlUrl(), timeoutMs: 15_000 });
        const producer = new Producer(ctx.log, size.ratePerSecond, async (i) => {
          const id = await client.create('chaos.effect', { log: cluster.sideEffects, i, ms: 100 + ((i * 7919) % 400) }, { maxAttempts: 3, timeToResolve: 10, delay: 0 });
          cluster.created.push(id);
          return id;
        });
        const violations: string[] = [];
        producer.start();
        await sleep(size.beforeMs);
        const onDead = cluster.created.find((id) => cluster.shardOf(id) === 2);
        if (!onDead) throw new Error('no run landed on shard 2 before the outage');

        await ferret!.kill('SIGKILL');
        const killedAt = Date.now();
        producer.phase = 'outage';
        ctx.log(`[shard-outage] ${DEAD} killed`);
        await sleep(1000);
        // Reads that touch the dead shard say so; listings serve the rest.
        const read = await client.task(onDead).then(() => 'answered', (error: unknown) => (error instanceof TaskplaneClientError ? error.code : String(error)));
        if (read !== 'SHARD_UNAVAILABLE') violations.push(`task(id) of a run on ${DEAD} while it was down answered ${read}, not SHARD_UNAVAILABLE`);
        const page = await client.tasks({}, { first: 20 });
        if (!page.unavailableShards.includes(DEAD)) violations.push(`tasks() while ${DEAD} was down listed unavailableShards ${JSON.stringify(page.unavailableShards)}`);
        if (page.tasks.length === 0) violations.push(`tasks() while ${DEAD} was down listed no run of the other shards`);
        await sleep(Math.max(0, size.outageMs - (Date.now() - killedAt)));

        await ferret!.restart();
        const restartedAt = Date.now();
        producer.phase = 'after';
        ctx.log(`[shard-outage] ${DEAD} restarted after ${restartedAt - killedAt} ms`);
        await eventually(async () => ((await client.task(onDead)) ? true : undefined), 30_000, `${DEAD} to answer again`, 250);
        await sleep(size.afterMs);
        await producer.stop();
        const refused = producer.errors('outage', 'SHARD_UNAVAILABLE');
        if (refused === 0) violations.push(`no create was refused with SHARD_UNAVAILABLE while ${DEAD} was down`);
        const otherErrors = producer.errorsOtherThan('SHARD_UNAVAILABLE');
        if (otherErrors.length > 0) violations.push(`creates failed with other errors: ${otherErrors.join(', ')}`);
        await waitUntilSettled(cluster, size.settleMs, ctx.log);
        const settledAt = Date.now();
        return {
          figures: {
            outageMs: restartedAt - killedAt,
            created: cluster.created.length,
            createdDuringOutage: producer.createdIn('outage').length,
            refusedShardUnavailable: refused,
            restartToAllFinishedMs: settledAt - restartedAt,
          },
          violations,
          allowed: () => ['completed'],
          after: (runs) => {
            // Runs on the live shards kept finishing while shard 2 was down (compared with as long a window before).
            const outage = restartedAt - killedAt;
            const finishedIn = (from: number, to: number) =>
              runs.filter((run) => run.shard !== DEAD && run.finishedAt !== null && run.finishedAt.getTime() >= from && run.finishedAt.getTime() < to).length;
            const during = finishedIn(killedAt, restartedAt);
            const before = finishedIn(killedAt - Math.min(outage, size.beforeMs), killedAt);
            return {
              figures: { finishedOnLiveShardsBefore: before, finishedOnLiveShardsDuring: during },
              violations: during === 0 ? [`no run on the live shards finished during the ${outage} ms outage of ${DEAD}`] : [],
            };
          },
        };
      },
      async () => {
        await ferret?.stop();
      },
    );
  })();
}
