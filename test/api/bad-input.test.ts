import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INTERNAL_MESSAGE } from '../../src/api/mask-error.js';
import { onlyError, openHarness, type Harness } from './harness.js';

/**
 * Each invalid input gets its own `extensions.code` and a message that says what to change, and
 * the server keeps serving: every case is followed by a good request on the same instance.
 */

describe('invalid inputs', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(() => h.close());

  async function stillServes(): Promise<void> {
    const answer = await h.gql('{ statistics { total } }');
    expect(answer.errors).toBeUndefined();
  }

  /** The answer has no data and an error with `code` (and `message`); other errors may come with it. */
  async function expectCode(query: string, code: string, message?: RegExp, variables?: Record<string, unknown>) {
    const answer = await h.gql(query, variables);
    const error = answer.errors?.find((e) => e.extensions?.['code'] === code && (!message || message.test(e.message)));
    expect(error, JSON.stringify(answer).slice(0, 500)).toBeDefined();
    expect(answer.errors!.every((e) => typeof e.extensions?.['code'] === 'string')).toBe(true);
    expect(JSON.stringify(answer)).not.toMatch(/\bat .+\.(ts|js):\d+|stack/);
    await stillServes();
    return error!;
  }

  it('unknown task name → NOT_FOUND, recorded as an UNKNOWN_TASK run', async () => {
    const error = await expectCode('mutation { task { start(name: "no_such_task") } }', 'NOT_FOUND', /no task definition is named 'no_such_task'/);
    const recorded = await h.gql(`{ task(id: "${error.extensions!['runId']}") { status name } }`);
    expect(recorded.data!.task).toEqual({ status: 'UNKNOWN_TASK', name: 'no_such_task' });
  });

  it('a refused mutation sent beside others leaves their answers: the caller learns the ids of the runs it did create', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const answer = await h.gql(
      `mutation { a: task { create(funcName: "mod.fn", args: [1]) } b: task { retry(id: "${missing}") } c: cluster { delete(slug: "no-such-cluster") } }`,
    );
    const data = answer.data as { a: { create: string } | null; b: unknown; c: unknown };
    expect(data.a?.create).toMatch(/^[0-9a-f-]{36}$/);
    expect(data.b).toBeNull();
    expect(data.c).toBeNull();
    expect(answer.errors!.map((e) => [e.path, e.extensions?.['code']])).toEqual(
      expect.arrayContaining([
        [['b', 'retry'], 'NOT_FOUND'],
        [['c', 'delete'], expect.any(String)],
      ]),
    );
    const created = await h.gql(`{ task(id: "${data.a!.create}") { funcName } }`);
    expect(created.data!.task).toEqual({ funcName: 'mod.fn' });
  });

  it('bad id → BAD_USER_INPUT', async () => {
    await expectCode('{ task(id: "not-a-uuid") { id } }', 'BAD_USER_INPUT', /id: must be a UUID/);
    await expectCode('mutation { task { stop(id: "42") } }', 'BAD_USER_INPUT', /must be a UUID/);
  });

  it('an id of no run → null for a query, NOT_FOUND for a mutation', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect((await h.gql(`{ task(id: "${missing}") { id } }`)).data).toEqual({ task: null });
    await expectCode(`mutation { task { retry(id: "${missing}") } }`, 'NOT_FOUND', /does not exist/);
  });

  it('bad cursor → BAD_USER_INPUT', async () => {
    await expectCode('{ tasks(after: "bm90IGEgY3Vyc29y") { pageInfo { hasNextPage } } }', 'BAD_USER_INPUT', /not a valid cursor/);
  });

  it('bad cron in a definition → BAD_USER_INPUT naming the field', async () => {
    const error = await expectCode(
      'mutation { task { define(input: {name: "bad_cron", kind: PERIODICAL, funcName: "m.f", schedule: "61 * * * * *"}) { name } } }',
      'BAD_USER_INPUT',
      /schedule/,
    );
    expect(error.message).toMatch(/61/);
  });

  it('args over the 1 MiB limit → BAD_USER_INPUT with the limit', async () => {
    const args = { blob: 'x'.repeat(1024 * 1024 + 10) };
    await expectCode('mutation ($args: JSON) { task { create(funcName: "m.f", args: $args) } }', 'BAD_USER_INPUT', /over the limit of 1048576 bytes/, { args });
  });

  it('first: 100000 → BAD_USER_INPUT with the page size limit', async () => {
    await expectCode('{ tasks(first: 100000) { edges { node { id } } } }', 'BAD_USER_INPUT', /from 1 to 1000/);
    await expectCode('query ($n: Int) { tasks(first: $n) { edges { node { id } } } }', 'BAD_USER_INPUT', /from 1 to 1000/, { n: 100000 });
  });

  it('a 50-deep query → depth limit', async () => {
    const deep = `{ task(id: "00000000-0000-4000-8000-000000000000") { ${'parent { '.repeat(49)}id${' }'.repeat(49)} } }`;
    await expectCode(deep, 'GRAPHQL_VALIDATION_FAILED', /depth limit of 12/);
  });

  it('1,000 aliases → alias limit', async () => {
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: __typename`).join(' ');
    await expectCode(`{ ${aliases} }`, 'GRAPHQL_VALIDATION_FAILED', /Aliases limit of 30/);
  });

  it('a page of pages → cost limit', async () => {
    await expectCode('{ tasks(first: 1000) { nodes { children(first: 1000) { nodes { id } } } } }', 'GRAPHQL_VALIDATION_FAILED', /Cost limit of 500000/);
  });

  it('a document over the token limit → refused while parsing', async () => {
    const fields = Array.from({ length: 6000 }, () => '__typename').join(' ');
    await expectCode(`{ ${fields} }`, 'GRAPHQL_PARSE_FAILED', /Token limit of 5000/);
  });

  it('a wrongly typed variable → BAD_USER_INPUT', async () => {
    await expectCode('query ($n: Int) { tasks(first: $n) { edges { node { id } } } }', 'BAD_USER_INPUT', /\$n/, { n: 'many' });
  });

  it('an unknown field → GRAPHQL_VALIDATION_FAILED', async () => {
    await expectCode('{ tasks { edges { node { nope } } } }', 'GRAPHQL_VALIDATION_FAILED', /Cannot query field "nope"/);
  });

  it('a body over 2 MiB → 413, and the server keeps serving', async () => {
    const response = await h.post(JSON.stringify({ query: '{ statistics { total } }', variables: { pad: 'x'.repeat(3 * 1024 * 1024) } }));
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    await stillServes();
  });

  it('a body over 2 MiB without Content-Length (chunked) → 413', async () => {
    const text = JSON.stringify({ query: '{ statistics { total } }', variables: { pad: 'x'.repeat(3 * 1024 * 1024) } });
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
        controller.close();
      },
    });
    const response = await h.api.yoga.fetch('http://x/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    await stillServes();
  });

  it('an internal failure is masked as INTERNAL and logged with its details', async () => {
    const original = h.deps.store.statistics.bind(h.deps.store);
    h.deps.store.statistics = async () => {
      throw new Error('secret: connection string mongodb://user:pw@host');
    };
    try {
      const answer = await h.gql('{ statistics { total } }');
      const error = onlyError(answer);
      expect(error).toMatchObject({ message: INTERNAL_MESSAGE, extensions: { code: 'INTERNAL' } });
      expect(JSON.stringify(answer)).not.toMatch(/secret|stack|mongodb:/);
      expect(h.logged.some(({ obj }) => JSON.stringify(obj).includes('secret') || String((obj as { err?: Error }).err?.message).includes('secret'))).toBe(true);
    } finally {
      h.deps.store.statistics = original;
    }
    await stillServes();
  });
});
