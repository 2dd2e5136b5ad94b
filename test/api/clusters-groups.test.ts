import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunnerInfo } from '../../src/core/members.js';
import type { JsonValue } from '../../src/core/types.js';
import { NODE, onlyError, openHarness, type GraphQLAnswer, type Harness } from './harness.js';

/** Cluster and worker-group operations through GraphQL: mutations, refusals, and what they publish. */

function runnerInfo(overrides: Partial<RunnerInfo> = {}): RunnerInfo {
  return {
    id: 'runner-a', node: NODE.id, cluster: 'default', group: 'default', tags: ['default'], handlers: ['mod.work'],
    capacity: 2, load: 0, state: 'running', startedAt: new Date(0).toISOString(), ...overrides,
  };
}

describe('clusters and worker groups', () => {
  let h: Harness;
  let published: JsonValue[];

  beforeEach(async () => {
    h = await openHarness();
    published = [];
    h.coordinator.subscribe('config:worker-groups', (message) => published.push(message));
  });
  afterEach(() => h.close());

  const heartbeat = (info: RunnerInfo) => h.coordinator.heartbeat('runner', info.id, { ...info, tags: [...info.tags], handlers: [...info.handlers] } as never, 60_000);

  /** The single error of the answer, with its code and a message matching `message`; the data holds nothing. */
  function refused(answer: GraphQLAnswer, code: string, message: RegExp): void {
    const error = onlyError(answer);
    expect(error.extensions?.['code'], error.message).toBe(code);
    expect(error.message).toMatch(message);
  }

  describe('clusters', () => {
    it('creates with a custom slug, updates and lists them', async () => {
      const created = await h.gql('mutation { cluster { create(name: "GPU farm", slug: "gpu-eu", description: "A100s") { slug name description isDefault } } }');
      expect(created.data!.cluster.create).toEqual({ slug: 'gpu-eu', name: 'GPU farm', description: 'A100s', isDefault: false });
      const generated = await h.gql('mutation { cluster { create(name: "Testing") { slug } } }');
      expect(generated.data!.cluster.create.slug).toMatch(/^testing-[a-z0-9]{6}$/);

      const renamed = await h.gql('mutation { cluster { update(slug: "gpu-eu", name: "GPU farm (EU)") { slug name description } } }');
      expect(renamed.data!.cluster.update).toEqual({ slug: 'gpu-eu', name: 'GPU farm (EU)', description: 'A100s' });
      const cleared = await h.gql('mutation { cluster { update(slug: "gpu-eu", description: null) { name description } } }');
      expect(cleared.data!.cluster.update).toEqual({ name: 'GPU farm (EU)', description: null });
      const main = await h.gql('mutation { cluster { update(slug: "default", name: "Main") { slug name isDefault } } }');
      expect(main.data!.cluster.update).toEqual({ slug: 'default', name: 'Main', isDefault: true });

      const listed = await h.gql('{ clusters { slug name } cluster(slug: "gpu-eu") { description } }');
      expect(listed.data!.clusters).toEqual([
        { slug: 'default', name: 'Main' },
        { slug: 'gpu-eu', name: 'GPU farm (EU)' },
        { slug: generated.data!.cluster.create.slug, name: 'Testing' },
      ]);
      expect(listed.data!.cluster).toEqual({ description: null });
    });

    it('refuses bad slugs, taken slugs and bad updates, writing nothing', async () => {
      await h.gql('mutation { cluster { create(name: "one", slug: "one") { slug } } }');
      refused(await h.gql('mutation { cluster { create(name: "x", slug: "Has Caps") { slug } } }'), 'BAD_USER_INPUT', /^slug: must be lowercase letters, digits and `-`/);
      refused(await h.gql(`mutation { cluster { create(name: "x", slug: "${'a'.repeat(64)}") { slug } } }`), 'BAD_USER_INPUT', /^slug: must be at most 63 characters/);
      refused(await h.gql('mutation { cluster { create(name: "x", slug: "default") { slug } } }'), 'BAD_USER_INPUT', /^slug: 'default' is the default cluster's slug/);
      refused(await h.gql('mutation { cluster { create(name: "again", slug: "one") { slug } } }'), 'CONFLICT', /^cluster slug 'one' is taken/);
      refused(await h.gql('mutation { cluster { create(name: "") { slug } } }'), 'BAD_USER_INPUT', /^name: must not be empty/);
      refused(await h.gql('mutation { cluster { update(slug: "one", name: "") { slug } } }'), 'BAD_USER_INPUT', /^name: must not be empty/);
      refused(
        await h.gql('mutation ($d: String) { cluster { update(slug: "one", name: "fine", description: $d) { slug } } }', { d: 'd'.repeat(1001) }),
        'BAD_USER_INPUT',
        /^description: must be at most 1000 characters/,
      );
      refused(await h.gql('mutation { cluster { update(slug: "nope", name: "x") { slug } } }'), 'NOT_FOUND', /no cluster has slug 'nope'/);

      const listed = await h.gql('{ clusters { slug name description } }');
      expect(listed.data!.clusters).toEqual([
        { slug: 'default', name: 'default', description: 'The cluster runs target when they name none.' },
        { slug: 'one', name: 'one', description: null },
      ]);
    });

    it('refuses to delete the default cluster, a missing one, one with live runners or pending runs', async () => {
      refused(await h.gql('mutation { cluster { delete(slug: "default") } }'), 'CONFLICT', /the default cluster cannot be deleted/);
      refused(await h.gql('mutation { cluster { delete(slug: "nope") } }'), 'NOT_FOUND', /no cluster has slug 'nope'/);

      await h.gql('mutation { cluster { create(name: "busy", slug: "busy") { slug } } }');
      await heartbeat(runnerInfo({ id: 'runner-b1', cluster: 'busy' }));
      await heartbeat(runnerInfo({ id: 'runner-b2', cluster: 'busy' }));
      await heartbeat(runnerInfo({ id: 'runner-elsewhere' }));
      refused(await h.gql('mutation { cluster { delete(slug: "busy") } }'), 'CONFLICT', /^cluster 'busy' still has 2 live runners \(runner-b1, runner-b2\); stop them/);

      await h.coordinator.leave('runner', 'runner-b1');
      await h.coordinator.leave('runner', 'runner-b2');
      const run = await h.deps.store.create({ funcName: 'mod.work', cluster: 'busy' });
      refused(await h.gql('mutation { cluster { delete(slug: "busy") } }'), 'CONFLICT', new RegExp(`still has pending or running runs \\(e\\.g\\. ${run.id}\\)`));
      expect((await h.gql('{ cluster(slug: "busy") { slug } }')).data!.cluster).toEqual({ slug: 'busy' });

      await h.deps.store.stop(run.id);
      expect((await h.gql('mutation { cluster { delete(slug: "busy") } }')).data!.cluster.delete).toBe(true);
      expect((await h.gql('{ cluster(slug: "busy") { slug } }')).data!.cluster).toBeNull();
    });
  });

  describe('worker groups', () => {
    const put = (input: Record<string, unknown>) =>
      h.gql(
        `mutation ($input: WorkerGroupInput!) { workerGroup { put(input: $input) {
          name clusters runners { id } config { tags tagPriorities { tag priority } dedicatedHandler initCommand updatedAt }
        } } }`,
        { input },
      );

    it('stores a config, shows it with the live runners of the group, replaces and deletes it, announcing each change', async () => {
      await heartbeat(runnerInfo({ id: 'runner-g1', group: 'gpu', tags: ['gpu'], cluster: 'default' }));
      const answer = await put({
        name: 'gpu',
        tags: ['gpu', 'cuda'],
        tagPriorities: [{ tag: 'gpu', priority: 5 }],
        dedicatedHandler: 'ml.train',
        initCommand: 'echo ready',
      });
      expect(answer.errors).toBeUndefined();
      expect(answer.data!.workerGroup.put).toEqual({
        name: 'gpu',
        clusters: ['default'],
        runners: [{ id: 'runner-g1' }],
        config: {
          tags: ['gpu', 'cuda'],
          tagPriorities: [{ tag: 'gpu', priority: 5 }],
          dedicatedHandler: 'ml.train',
          initCommand: 'echo ready',
          updatedAt: expect.any(String),
        },
      });
      await expect.poll(() => published).toEqual([{ name: 'gpu' }]);

      // A config with no runners, runners with no config, and both, side by side.
      await put({ name: 'idle' });
      await heartbeat(runnerInfo({ id: 'runner-plain', group: 'plain' }));
      const listed = await h.gql('{ workerGroups { name cluster clusters runners { id } config { tags } } }');
      expect(listed.errors).toBeUndefined();
      expect(listed.data!.workerGroups).toEqual([
        { name: 'gpu', cluster: 'default', clusters: ['default'], runners: [{ id: 'runner-g1' }], config: { tags: ['gpu', 'cuda'] } },
        { name: 'idle', cluster: null, clusters: [], runners: [], config: { tags: [] } },
        { name: 'plain', cluster: 'default', clusters: ['default'], runners: [{ id: 'runner-plain' }], config: null },
      ]);
      // Limited to a cluster: only groups with live runners there.
      const inCluster = await h.gql('{ workerGroups(cluster: "default") { name } cluster(slug: "default") { workerGroups { name config { dedicatedHandler } } } }');
      expect(inCluster.data!.workerGroups).toEqual([{ name: 'gpu' }, { name: 'plain' }]);
      expect(inCluster.data!.cluster.workerGroups).toEqual([{ name: 'gpu', config: { dedicatedHandler: 'ml.train' } }, { name: 'plain', config: null }]);

      const one = await h.gql('{ gpu: workerGroup(name: "gpu") { name config { initCommand } } plain: workerGroup(name: "plain") { config { tags } } none: workerGroup(name: "none") { name } }');
      expect(one.data).toEqual({ gpu: { name: 'gpu', config: { initCommand: 'echo ready' } }, plain: { config: null }, none: null });

      // A put replaces the whole config.
      const replaced = await put({ name: 'gpu', tags: ['gpu'] });
      expect(replaced.data!.workerGroup.put.config).toMatchObject({ tags: ['gpu'], tagPriorities: [], dedicatedHandler: null, initCommand: null });

      expect((await h.gql('mutation { workerGroup { delete(name: "gpu") } }')).data!.workerGroup.delete).toBe(true);
      refused(await h.gql('mutation { workerGroup { delete(name: "gpu") } }'), 'NOT_FOUND', /no worker group config is named 'gpu'/);
      // Its runner still shows; the config is gone.
      expect((await h.gql('{ workerGroup(name: "gpu") { runners { id } config { tags } } }')).data!.workerGroup).toEqual({ runners: [{ id: 'runner-g1' }], config: null });
      await expect.poll(() => published).toEqual([{ name: 'gpu' }, { name: 'idle' }, { name: 'gpu' }, { name: 'gpu' }]);
    });

    it('refuses bad input with BAD_USER_INPUT naming the field, writing and announcing nothing', async () => {
      await put({ name: 'keep', tags: ['x'] });
      await expect.poll(() => published.length).toBe(1);
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ name: 'bad name' }, /^input\.name: must be letters, digits/],
        [{ name: 'keep', tags: ['fine', 'not fine'] }, /^input\.tags\.1: must be letters, digits/],
        [{ name: 'keep', tags: ['x', 'x'] }, /^input\.tags\.1: lists tag 'x' twice/],
        [{ name: 'keep', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, /^input\.tags: must list at most 50 tags/],
        [{ name: 'keep', tagPriorities: [{ tag: 'x', priority: 2_000_000 }] }, /^input\.tagPriorities\.0\.priority: must be from -1000000 to 1000000/],
        [{ name: 'keep', tagPriorities: [{ tag: 'x', priority: 1 }, { tag: 'x', priority: 2 }] }, /^input\.tagPriorities\.1\.tag: lists tag 'x' twice/],
        [{ name: 'keep', dedicatedHandler: 'rm -rf /' }, /^input\.dedicatedHandler: must be a handler name/],
        [{ name: 'keep', initCommand: ' ' }, /^input\.initCommand: must not be blank/],
        [{ name: 'keep', initCommand: 'x'.repeat(8193) }, /^input\.initCommand: must be at most 8192 characters/],
      ];
      for (const [input, message] of cases) {
        const answer = await put(input);
        const error = onlyError(answer);
        expect(error.extensions?.['code'], JSON.stringify(input).slice(0, 100)).toBe('BAD_USER_INPUT');
        expect(error.message).toMatch(message);
        expect(error.extensions?.['field']).toBeDefined();
        expect(answer.data).toEqual({ workerGroup: null });
      }
      // A GraphQL-level type error is BAD_USER_INPUT too.
      expect(onlyError(await put({ name: 'keep', tagPriorities: [{ tag: 'x', priority: 'high' }] })).extensions?.['code']).toBe('BAD_USER_INPUT');

      const stored = await h.gql('{ workerGroups { name config { tags tagPriorities { tag } dedicatedHandler initCommand } } }');
      expect(stored.data!.workerGroups).toEqual([{ name: 'keep', config: { tags: ['x'], tagPriorities: [], dedicatedHandler: null, initCommand: null } }]);
      // Let any stray delivery land, then check none came.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(published).toEqual([{ name: 'keep' }]);
    });

    it('says why a run waits when the runners that have its handler are dedicated to another', async () => {
      await heartbeat(runnerInfo({ id: 'runner-d', group: 'special', handlers: ['mod.special'], dedicatedHandler: 'mod.special' }));
      const run = await h.deps.store.create({ funcName: 'mod.work' });
      const answer = await h.gql(`{ task(id: "${run.id}") { waitingReason } runners { id dedicatedHandler } }`);
      expect(answer.data!.task.waitingReason).toMatch(
        /^no live runner in cluster default registers handler mod\.work \(worker group special dedicates its runners there to mod\.special\); it becomes 'did not start'/,
      );
      expect(answer.data!.runners).toEqual([{ id: 'runner-d', dedicatedHandler: 'mod.special' }]);
    });
  });
});
