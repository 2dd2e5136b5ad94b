import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CatalogStoreOptions } from '../../src/catalog/catalog-store.js';
import { DEFAULT_CLUSTER, type Catalog } from '../../src/catalog/contract.js';
import type { DefinitionInput } from '../../src/core/definition.js';
import { ValidationError } from '../../src/core/errors.js';
import { LIMITS } from '../../src/core/limits.js';

/**
 * The catalog conformance suite: the MongoDB and memory catalogs must pass it unchanged. Each
 * test gets a fresh, empty catalog from `make` (not yet started).
 */
export type CatalogHooks = Pick<CatalogStoreOptions, 'beforeDelete' | 'slugSuffix'>;
export type CatalogFactory = (hooks?: CatalogHooks) => Promise<{ catalog: Catalog; dispose(): Promise<void> }>;

const reload: DefinitionInput = { name: 'my_reload', kind: 'periodical', funcName: 'my_module.cache_reload', schedule: '*/5 * * * * *', timeToResolve: 180 };
const flush: DefinitionInput = { name: 'my_flush', kind: 'single_shot', funcName: 'my_module.cache_flush', args: ['some_string1', 'some_string2'] };
const push: DefinitionInput = { name: 'push_metrics', kind: 'continuous', funcName: 'my_module.push_metrics', pauseSec: 30 };

/** The rejection of `promise`, which must be a `ValidationError`. */
async function validationError(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => expect.fail('expected a ValidationError'),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

export function catalogConformance(label: string, make: CatalogFactory): void {
  describe(`catalog conformance: ${label}`, () => {
    let catalog: Catalog;
    let dispose: () => Promise<void>;

    async function open(hooks?: CatalogHooks): Promise<void> {
      ({ catalog, dispose } = await make(hooks));
      await catalog.start();
    }

    beforeEach(async () => {
      await open();
    });
    afterEach(async () => {
      await dispose();
    });

    describe('definitions', () => {
      it('puts, gets, lists and removes definitions', async () => {
        const stored = await catalog.putDefinition(reload, 'api');
        expect(stored).toMatchObject({
          name: 'my_reload', kind: 'periodical', funcName: 'my_module.cache_reload', args: [], schedule: '*/5 * * * * *',
          pauseSec: 0, timeToResolve: 180, maxAttempts: null, delay: null, delayFactor: null, timeout: null, priority: 0,
          cluster: 'default', tag: null, source: 'api',
        });
        expect(stored.updatedAt).toBeInstanceOf(Date);
        expect(await catalog.getDefinition('my_reload')).toEqual(stored);
        await catalog.putDefinition(flush, 'config');

        expect((await catalog.listDefinitions()).map((d) => d.name)).toEqual(['my_flush', 'my_reload']);
        const replaced = await catalog.putDefinition({ ...reload, timeToResolve: 5, priority: 7 }, 'api');
        expect(await catalog.getDefinition('my_reload')).toEqual(replaced);
        expect(replaced).toMatchObject({ timeToResolve: 5, priority: 7 });

        expect(await catalog.removeDefinition('my_reload')).toBe(true);
        expect(await catalog.removeDefinition('my_reload')).toBe(false);
        expect(await catalog.getDefinition('my_reload')).toBeNull();
        expect((await catalog.listDefinitions()).map((d) => d.name)).toEqual(['my_flush']);
      });

      it('refuses bad definitions with the field that is wrong, storing nothing', async () => {
        const badCron = await validationError(catalog.putDefinition({ ...reload, schedule: '*/5 * * * *  * *' }, 'api'));
        expect(badCron).toMatchObject({ code: 'BAD_USER_INPUT', field: 'definition.schedule' });
        const outOfRange = await validationError(catalog.putDefinition({ ...reload, schedule: '99 * * * * *' }, 'api'));
        expect(outOfRange.field).toBe('definition.schedule');
        const kind = await validationError(catalog.putDefinition({ ...flush, kind: 'sometimes' as 'single_shot' }, 'api'));
        expect(kind.field).toBe('definition.kind');
        expect(kind.message).toMatch(/kind must be one of/);
        const scheduled = await validationError(catalog.putDefinition({ ...flush, schedule: '* * * * * *' }, 'api'));
        expect(scheduled.field).toBe('definition.schedule');
        expect(scheduled.message).toMatch(/only periodical tasks have a schedule/);
        const unknownKey = await validationError(catalog.putDefinition({ ...flush, func_name: 'x' } as DefinitionInput, 'api'));
        expect(unknownKey.field).toBe('definition');
        const tooBig = await validationError(catalog.putDefinition({ ...flush, args: ['x'.repeat(LIMITS.payloadBytes)] }, 'api'));
        expect(tooBig.field).toBe('definition.args');
        expect(await catalog.listDefinitions()).toEqual([]);
      });

      it('keeps args whose keys hold dots and dollars and whose arrays nest', async () => {
        const args = { 'a.b': 1, $where: 'x', nested: [[1, [2]], { 'c.d': null, $in: [] }], unicode: 'é✓\u0001' };
        const stored = await catalog.putDefinition({ ...flush, args }, 'api');
        expect(stored.args).toEqual(args);
        expect((await catalog.getDefinition('my_flush'))?.args).toEqual(args);
        expect((await catalog.listDefinitions())[0]?.args).toEqual(args);
      });

      it('changes the version on every put and remove, not on a no-op', async () => {
        const first = await catalog.version();
        expect(typeof first).toBe('string');
        await catalog.putDefinition(flush, 'api');
        const second = await catalog.version();
        expect(second).not.toBe(first);
        await catalog.putDefinition(flush, 'api');
        const third = await catalog.version();
        expect(third).not.toBe(second);
        expect(await catalog.removeDefinition('nothing_here')).toBe(false);
        expect(await catalog.version()).toBe(third);
        await catalog.removeDefinition('my_flush');
        const fourth = await catalog.version();
        expect(fourth).not.toBe(third);

        await catalog.applyConfigDefinitions([reload]);
        const fifth = await catalog.version();
        expect(fifth).not.toBe(fourth);
        await catalog.applyConfigDefinitions([reload]);
        expect(await catalog.version()).toBe(fifth);
        await expect(catalog.putDefinition({ ...reload, schedule: 'nope' }, 'api')).rejects.toBeInstanceOf(ValidationError);
        expect(await catalog.version()).toBe(fifth);
      });

      it('applies config definitions: adds, updates, removes, keeps unchanged ones', async () => {
        expect(await catalog.applyConfigDefinitions([reload, flush])).toEqual({ added: ['my_flush', 'my_reload'], updated: [], removed: [], unchanged: [] });
        const flushBefore = await catalog.getDefinition('my_flush');
        expect(flushBefore?.source).toBe('config');

        const result = await catalog.applyConfigDefinitions([push, { ...reload, maxAttempts: 3 }, flush]);
        expect(result).toEqual({ added: ['push_metrics'], updated: ['my_reload'], removed: [], unchanged: ['my_flush'] });
        expect((await catalog.getDefinition('my_reload'))?.maxAttempts).toBe(3);
        // An unchanged definition is not rewritten.
        expect(await catalog.getDefinition('my_flush')).toEqual(flushBefore);

        expect(await catalog.applyConfigDefinitions([push])).toEqual({ added: [], updated: [], removed: ['my_flush', 'my_reload'], unchanged: ['push_metrics'] });
        expect((await catalog.listDefinitions()).map((d) => d.name)).toEqual(['push_metrics']);
        expect(await catalog.applyConfigDefinitions([])).toEqual({ added: [], updated: [], removed: ['push_metrics'], unchanged: [] });
        expect(await catalog.listDefinitions()).toEqual([]);
      });

      it('leaves API definitions alone unless the config defines the same name', async () => {
        const apiOnly = await catalog.putDefinition({ ...push, name: 'api_only' }, 'api');
        await catalog.putDefinition(flush, 'api');
        const result = await catalog.applyConfigDefinitions([reload, flush]);
        // Same content but an API definition: the config takes it over.
        expect(result).toEqual({ added: ['my_reload'], updated: ['my_flush'], removed: [], unchanged: [] });
        expect((await catalog.getDefinition('my_flush'))?.source).toBe('config');

        expect(await catalog.applyConfigDefinitions([])).toEqual({ added: [], updated: [], removed: ['my_flush', 'my_reload'], unchanged: [] });
        expect(await catalog.listDefinitions()).toEqual([apiOnly]);
      });

      it('applies all or nothing: one bad definition writes none, and names it', async () => {
        await catalog.applyConfigDefinitions([flush]);
        const before = await catalog.listDefinitions();
        const version = await catalog.version();

        const byName = await validationError(catalog.applyConfigDefinitions([reload, { ...push, name: 'bad_one', schedule: '* * * * * *' }]));
        expect(byName.field).toBe('tasks.bad_one.schedule');
        const byIndex = await validationError(
          catalog.applyConfigDefinitions([push, { kind: 'single_shot', funcName: 'm.f' } as unknown as DefinitionInput]),
        );
        expect(byIndex.field).toBe('tasks.1.name');
        const twice = await validationError(catalog.applyConfigDefinitions([push, push]));
        expect(twice.field).toBe('tasks.push_metrics');
        const badArgs = await validationError(catalog.applyConfigDefinitions([{ ...flush, args: [1n] as never }]));
        expect(badArgs.field).toBe('tasks.my_flush.args');

        expect(await catalog.listDefinitions()).toEqual(before);
        expect(await catalog.version()).toBe(version);
      });
    });

    describe('clusters', () => {
      it('always has the default cluster, and start is idempotent', async () => {
        await catalog.start();
        const clusters = await catalog.listClusters();
        expect(clusters.map((c) => c.slug)).toEqual([DEFAULT_CLUSTER]);
        expect(clusters[0]?.createdAt).toBeInstanceOf(Date);
        expect(await catalog.getCluster(DEFAULT_CLUSTER)).toEqual(clusters[0]);
        expect(await catalog.getCluster('nope')).toBeNull();
      });

      it('generates slugs as name-xxxxxx', async () => {
        const testing = await catalog.createCluster({ name: 'testing' });
        expect(testing.slug).toMatch(/^testing-[a-z0-9]{6}$/);
        expect(testing).toMatchObject({ name: 'testing', description: null });
        expect(await catalog.getCluster(testing.slug)).toEqual(testing);

        expect((await catalog.createCluster({ name: 'GPU Farm (EU) – Café' })).slug).toMatch(/^gpu-farm-eu-cafe-[a-z0-9]{6}$/);
        expect((await catalog.createCluster({ name: '!!! ✓' })).slug).toMatch(/^cluster-[a-z0-9]{6}$/);
        const long = await catalog.createCluster({ name: `${'a'.repeat(39)} b c` });
        expect(long.slug).toMatch(new RegExp(`^${'a'.repeat(39)}-[a-z0-9]{6}$`));
        const described = await catalog.createCluster({ name: 'testing', description: 'for tests' });
        expect(described.description).toBe('for tests');
        expect(described.slug).not.toBe(testing.slug);
      });

      it('takes a given slug once, and refuses a taken or malformed one', async () => {
        const created = await catalog.createCluster({ name: 'GPU', slug: 'gpu-ab12cd' });
        expect(created).toMatchObject({ slug: 'gpu-ab12cd', name: 'GPU' });
        await expect(catalog.createCluster({ name: 'other', slug: 'gpu-ab12cd' })).rejects.toMatchObject({
          code: 'CONFLICT',
          message: expect.stringMatching(/^cluster slug 'gpu-ab12cd' is taken; choose another/),
        });
        const reserved = await validationError(catalog.createCluster({ name: 'mine', slug: DEFAULT_CLUSTER }));
        expect(reserved).toMatchObject({ field: 'slug', message: expect.stringMatching(/'default' is the default cluster's slug/) });
        expect((await validationError(catalog.createCluster({ name: 'x', slug: 'Not A Slug' }))).field).toBe('slug');
        for (const bad of ['', '-lead', 'under_score', 'UPPER', 'dot.ted', 'a'.repeat(64)]) {
          expect((await validationError(catalog.createCluster({ name: 'x', slug: bad }))).field, bad).toBe('slug');
        }
        const longest = await catalog.createCluster({ name: 'long', slug: 'a'.repeat(63) });
        expect(longest.slug).toHaveLength(63);
        expect(await catalog.deleteCluster(longest.slug)).toBe(true);
        expect((await catalog.createCluster({ name: 'one', slug: '7' })).slug).toBe('7');
        expect(await catalog.deleteCluster('7')).toBe(true);
        expect((await validationError(catalog.createCluster({ name: '' }))).field).toBe('name');
        expect((await validationError(catalog.createCluster({ name: 'x', description: 'd'.repeat(1001) }))).field).toBe('description');
        expect(await catalog.getCluster('gpu-ab12cd')).toEqual(created);
        expect((await catalog.listClusters()).map((c) => c.name)).toEqual(['default', 'GPU']);
      });

      it('retries a generated slug that is taken, then gives up with CONFLICT', async () => {
        await dispose();
        const suffixes = ['aaaaaa', 'aaaaaa', 'aaaaaa', 'bbbbbb'];
        await open({ slugSuffix: () => suffixes.shift() ?? 'zzzzzz' });
        expect((await catalog.createCluster({ name: 'x' })).slug).toBe('x-aaaaaa');
        expect((await catalog.createCluster({ name: 'x' })).slug).toBe('x-bbbbbb');
        expect((await catalog.createCluster({ name: 'x' })).slug).toBe('x-zzzzzz');
        await expect(catalog.createCluster({ name: 'x' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/free slug/) });
        expect(await catalog.listClusters()).toHaveLength(4);
      });

      it('deletes clusters, never the default one', async () => {
        const created = await catalog.createCluster({ name: 'temp' });
        expect(await catalog.deleteCluster(created.slug)).toBe(true);
        expect(await catalog.deleteCluster(created.slug)).toBe(false);
        expect(await catalog.getCluster(created.slug)).toBeNull();
        await expect(catalog.deleteCluster(DEFAULT_CLUSTER)).rejects.toMatchObject({
          code: 'CONFLICT',
          message: 'the default cluster cannot be deleted',
        });
        expect(await catalog.getCluster(DEFAULT_CLUSTER)).not.toBeNull();
      });

      it('asks beforeDelete, which may refuse', async () => {
        await dispose();
        const asked: string[] = [];
        await open({
          beforeDelete: async (slug) => {
            asked.push(slug);
            if (slug === 'busy') throw new Error('cluster busy has pending runs');
          },
        });
        await catalog.createCluster({ name: 'busy', slug: 'busy' });
        await catalog.createCluster({ name: 'idle', slug: 'idle' });
        await expect(catalog.deleteCluster('busy')).rejects.toThrow(/pending runs/);
        expect(await catalog.deleteCluster('idle')).toBe(true);
        expect(await catalog.deleteCluster('missing')).toBe(false);
        expect(asked).toEqual(['busy', 'idle']);
        expect((await catalog.listClusters()).map((c) => c.slug)).toEqual(['default', 'busy']);
      });

      it('updates a cluster\'s name and description, never its slug; null when missing', async () => {
        const created = await catalog.createCluster({ name: 'testing', slug: 'testing-1', description: 'first' });
        const renamed = await catalog.updateCluster('testing-1', { name: 'Testing (renamed)' });
        expect(renamed).toEqual({ ...created, name: 'Testing (renamed)' });
        expect(await catalog.getCluster('testing-1')).toEqual(renamed);
        const described = await catalog.updateCluster('testing-1', { description: 'second' });
        expect(described).toEqual({ ...created, name: 'Testing (renamed)', description: 'second' });
        const cleared = await catalog.updateCluster('testing-1', { description: null });
        expect(cleared?.description).toBeNull();
        expect(await catalog.updateCluster('testing-1', {})).toEqual(cleared);
        expect(await catalog.getCluster('testing-1')).toEqual(cleared);

        // The default cluster may be renamed; its slug stays.
        const renamedDefault = await catalog.updateCluster(DEFAULT_CLUSTER, { name: 'Main' });
        expect(renamedDefault).toMatchObject({ slug: DEFAULT_CLUSTER, name: 'Main' });
        expect((await catalog.listClusters()).map((c) => [c.slug, c.name])).toEqual([[DEFAULT_CLUSTER, 'Main'], ['testing-1', 'Testing (renamed)']]);

        expect(await catalog.updateCluster('missing', { name: 'x' })).toBeNull();
        expect(await catalog.getCluster('missing')).toBeNull();
      });

      it('refuses a bad update before writing anything, whether or not the cluster exists', async () => {
        const created = await catalog.createCluster({ name: 'keep', slug: 'keep' });
        expect((await validationError(catalog.updateCluster('keep', { name: '' }))).field).toBe('name');
        expect((await validationError(catalog.updateCluster('keep', { name: 'ok', description: 'd'.repeat(1001) }))).field).toBe('description');
        expect((await validationError(catalog.updateCluster('missing', { name: 'x\u0001' }))).field).toBe('name');
        expect(await catalog.getCluster('keep')).toEqual(created);
      });

      it('lists the default cluster first, then by slug', async () => {
        await catalog.createCluster({ name: 'z', slug: 'zeta' });
        await catalog.createCluster({ name: 'a', slug: 'alpha' });
        await catalog.createCluster({ name: 'e', slug: 'epsilon' });
        expect((await catalog.listClusters()).map((c) => c.slug)).toEqual(['default', 'alpha', 'epsilon', 'zeta']);
      });
    });

    describe('worker groups', () => {
      it('puts, gets, lists, replaces and deletes worker-group configs', async () => {
        expect(await catalog.listWorkerGroups()).toEqual([]);
        expect(await catalog.getWorkerGroup('gpu')).toBeNull();
        const gpu = await catalog.putWorkerGroup({
          name: 'gpu',
          tags: ['gpu', 'cuda-12'],
          tagPriorities: [{ tag: 'gpu', priority: 10 }, { tag: 'cuda-12', priority: -1 }],
          dedicatedHandler: 'ml.train',
          initCommand: 'nvidia-smi && echo ready',
        });
        expect(gpu).toEqual({
          name: 'gpu',
          tags: ['gpu', 'cuda-12'],
          tagPriorities: [{ tag: 'gpu', priority: 10 }, { tag: 'cuda-12', priority: -1 }],
          dedicatedHandler: 'ml.train',
          initCommand: 'nvidia-smi && echo ready',
          updatedAt: expect.any(Date),
        });
        expect(await catalog.getWorkerGroup('gpu')).toEqual(gpu);
        const bare = await catalog.putWorkerGroup({ name: 'batch' });
        expect(bare).toMatchObject({ name: 'batch', tags: [], tagPriorities: [], dedicatedHandler: null, initCommand: null });
        expect((await catalog.listWorkerGroups()).map((g) => g.name)).toEqual(['batch', 'gpu']);

        // A put replaces the whole config: what it leaves out is gone.
        const replaced = await catalog.putWorkerGroup({ name: 'gpu', tags: ['gpu'], dedicatedHandler: null });
        expect(replaced).toMatchObject({ tags: ['gpu'], tagPriorities: [], dedicatedHandler: null, initCommand: null });
        expect(await catalog.getWorkerGroup('gpu')).toEqual(replaced);

        expect(await catalog.deleteWorkerGroup('gpu')).toBe(true);
        expect(await catalog.deleteWorkerGroup('gpu')).toBe(false);
        expect(await catalog.getWorkerGroup('gpu')).toBeNull();
        expect((await catalog.listWorkerGroups()).map((g) => g.name)).toEqual(['batch']);
      });

      it('keeps tags that would be unsafe as document keys, as values', async () => {
        const tags = ['a.b', 'x:y', 'under_score', 'Mixed-Case'];
        const stored = await catalog.putWorkerGroup({ name: 'odd.group', tags, tagPriorities: tags.map((tag, i) => ({ tag, priority: i })) });
        expect(await catalog.getWorkerGroup('odd.group')).toEqual(stored);
        expect(stored.tagPriorities.map((p) => p.tag)).toEqual(tags);
      });

      it('refuses bad configs with the field that is wrong, storing nothing', async () => {
        const before = await catalog.putWorkerGroup({ name: 'keep', tags: ['x'] });
        const cases: Array<[Parameters<Catalog['putWorkerGroup']>[0], string, RegExp]> = [
          [{ name: '' }, 'input.name', /letters, digits/],
          [{ name: 'has space' }, 'input.name', /letters, digits/],
          [{ name: 'keep', tags: ['ok', 'not ok'] }, 'input.tags.1', /letters, digits/],
          [{ name: 'keep', tags: ['x', 'x'] }, 'input.tags.1', /lists tag 'x' twice/],
          [{ name: 'keep', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, 'input.tags', /at most 50 tags/],
          [{ name: 'keep', tagPriorities: [{ tag: 'x', priority: 1.5 }] }, 'input.tagPriorities.0.priority', /integer/],
          [{ name: 'keep', tagPriorities: [{ tag: 'x', priority: 10_000_000 }] }, 'input.tagPriorities.0.priority', /from -1000000 to 1000000/],
          [{ name: 'keep', tagPriorities: [{ tag: 'x', priority: 1 }, { tag: 'x', priority: 2 }] }, 'input.tagPriorities.1.tag', /twice/],
          [{ name: 'keep', dedicatedHandler: 'not a handler' }, 'input.dedicatedHandler', /handler name/],
          [{ name: 'keep', initCommand: '   ' }, 'input.initCommand', /blank/],
          [{ name: 'keep', initCommand: 'x'.repeat(8 * 1024 + 1) }, 'input.initCommand', /at most 8192/],
          [{ name: 'keep', colour: 'blue' } as never, 'input', /unknown key/],
        ];
        for (const [input, field, message] of cases) {
          const error = await validationError(catalog.putWorkerGroup(input));
          expect(error.field, JSON.stringify(input).slice(0, 80)).toBe(field);
          expect(error.message).toMatch(message);
        }
        expect(await catalog.listWorkerGroups()).toEqual([before]);
      });
    });
  });
}
