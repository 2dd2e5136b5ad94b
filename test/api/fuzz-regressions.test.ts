import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/api/builder.js';
import { DocumentCache } from '../../src/api/document-cache.js';
import { DEFAULT_API_LIMITS } from '../../src/api/limits.js';
import { nestingDepth } from '../../src/api/nesting-limit.js';
import { openHarness, subscribe, type GraphQLAnswer, type Harness } from './harness.js';

/**
 * One regression check per bug the GraphQL fuzz test (fuzz.test.ts) found, in-process and fast.
 * Each was answered INTERNAL (or worse) before its fix; now each gets a code a client can act on,
 * nothing is logged as a server fault, and the server keeps serving.
 */
describe('what the GraphQL fuzz test found', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openHarness();
  });
  afterAll(() => h.close());

  const request = (path: string, init: RequestInit = {}) => Promise.resolve(h.api.yoga.fetch(`http://x${path}`, init));

  async function answer(response: Response): Promise<{ status: number; body: GraphQLAnswer; text: string }> {
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as GraphQLAnswer, text };
  }

  /** No error was logged as a server fault, and a plain query still works. */
  async function noFault(): Promise<void> {
    expect(h.logged.map((entry) => entry.msg)).toEqual([]);
    expect((await h.gql('{ statistics { total } }')).errors).toBeUndefined();
  }

  it('GET or form variables that are not JSON → 400 BAD_REQUEST, not INTERNAL', async () => {
    for (const query of ['variables=%7Bnope', 'extensions=xx']) {
      const got = await answer(await request(`/graphql?query=%7B__typename%7D&${query}`, { headers: { accept: 'application/json' } }));
      expect(got.status).toBe(400);
      expect(got.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_REQUEST' }, message: expect.stringMatching(/variables.*must be JSON/) });
    }
    const form = await answer(
      await request('/graphql', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D&variables=%7B' }),
    );
    expect(form.status).toBe(400);
    expect(form.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    await noFault();
  });

  it('a body of an unsupported content type (multipart included) → 415 with a GraphQL error saying what to send', async () => {
    for (const type of ['text/plain', 'multipart/form-data; boundary=x']) {
      const got = await answer(await request('/graphql', { method: 'POST', headers: { 'content-type': type }, body: '{"query":"{ __typename }"}' }));
      expect(got.status).toBe(415);
      expect(got.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_REQUEST' }, message: expect.stringMatching(/not supported: send application\/json/) });
    }
    await noFault();
  });

  it('invalid JSON → BAD_REQUEST without the parser error (originalError) in the answer', async () => {
    const got = await answer(await h.post('{"query":'));
    expect(got.status).toBe(400);
    expect(got.body.errors?.[0]).toMatchObject({ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } });
    expect(got.text).not.toMatch(/originalError|SyntaxError/);
  });

  it('a document nested past the limit (a list literal 3,000 deep: under the token limit) → GRAPHQL_PARSE_FAILED, not a stack overflow', async () => {
    const deep = `mutation { task { create(funcName: "m.f", args: ${'['.repeat(3000)}0${']'.repeat(3000)}) } }`;
    const got = await answer(await h.post(JSON.stringify({ query: deep })));
    expect(got.body.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_PARSE_FAILED' }, message: expect.stringMatching(/nest more than 150 deep/) });
    // Strings and comments do not count; real documents pass.
    expect(nestingDepth('{ a(x: ["[[[[[["]) # ((((\n }')).toBe(3);
    expect(nestingDepth(`{ a(x: """${'{'.repeat(500)}\\""" """) }`)).toBe(2);
    expect(DEFAULT_API_LIMITS.maxNesting).toBe(150);
    await noFault();
  });

  it(`JSON nested deeper than ${MAX_JSON_DEPTH} levels → BAD_USER_INPUT; ${MAX_JSON_DEPTH} levels are fine`, async () => {
    // Written as text: the test process would overflow its own stack stringifying these.
    const nested = (depth: number) => `${'['.repeat(depth)}0${']'.repeat(depth)}`;
    const create = (depth: number) => `{"query":"mutation ($a: JSON) { task { create(funcName: \\"m.f\\", args: $a) } }","variables":{"a":${nested(depth)}}}`;
    const refused = await answer(await h.post(create(5000)));
    expect(refused.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/nests deeper than 100 levels/) });
    expect((await answer(await h.post(create(MAX_JSON_DEPTH)))).body.errors).toBeUndefined();
    // A DateTime given a deep object is refused with what it got, not by a stack overflow while quoting it.
    const dated = await answer(
      await h.post(`{"query":"mutation ($t: DateTime) { task { create(funcName: \\"m.f\\", options: {runAfter: $t}) } }","variables":{"t":{"a":${nested(100_000)}}}}`),
    );
    expect(dated.body.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/got an object/) });
    await noFault();
  });

  it('a mutation with deeply nested extra variables executes, answers, and is audited without them', async () => {
    const body = `{"query":"mutation { task { create(funcName: \\"m.f\\") } }","variables":{"extra":${'['.repeat(100_000)}0${']'.repeat(100_000)}}}`;
    const got = await answer(await h.post(body));
    expect(got.body.errors).toBeUndefined();
    const id = (got.body.data as { task: { create: string } }).task.create;
    expect((await h.deps.store.get(id))?.status).toBe('pending');
    await expect.poll(async () => (await h.deps.catalog.listAudit(1))[0]?.variables).toBe('(variables not recorded: nested too deep)');
    await noFault();
  });

  it('a statistics subscription with a bad filter is refused at once, not left open retrying', async () => {
    const stream = await subscribe(h, 'subscription { statistics(cluster: "Not A Slug!") { total } }');
    try {
      expect((await stream.next()).errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'statistics.cluster' } });
    } finally {
      await stream.close();
    }
    await noFault();
  });

  it('parsed documents are cached within a size budget (distinct 2 MiB documents once pinned gigabytes)', async () => {
    const cache = new DocumentCache<string>({ maxDocumentChars: 100, maxTotalChars: 250, maxEntries: 3 });
    cache.set('x'.repeat(101), 'too long');
    expect(cache.size).toBe(0);
    for (const key of ['a'.repeat(100), 'b'.repeat(100), 'c'.repeat(100)]) cache.set(key, key[0]!);
    // 300 characters > 250: the least recently used went.
    expect([cache.get('a'.repeat(100)), cache.get('b'.repeat(100)), cache.get('c'.repeat(100))]).toEqual([undefined, 'b', 'c']);
    for (const key of ['d', 'e', 'f']) cache.set(key, key);
    expect(cache.size).toBe(3);
    expect(cache.get('b'.repeat(100))).toBeUndefined();
    // Through the api: a large document still parses and answers, every time.
    const large = `{ statistics(name: "${'x'.repeat(50_000)}") { total } }`;
    for (let i = 0; i < 2; i++) expect((await h.gql(large)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
