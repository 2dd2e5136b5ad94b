/**
 * The request limits refuse abuse (see bad-input.test.ts) without refusing real clients: the
 * introspection GraphiQL and code generators send, and the biggest page an operator screen asks for.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await openHarness();
});
afterAll(() => h.close());

it('the full introspection query (GraphiQL, codegen) passes the request limits', async () => {
  const answer = await h.gql(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }));
  expect(answer.errors).toBeUndefined();
  expect(answer.data!.__schema.queryType.name).toBe('Query');
});

it('a realistic operator page (runs with job, parent, runner and history) passes the cost limit', async () => {
  const answer = await h.gql(`{ tasks(first: 1000) { edges { node {
    id name funcName kind status attempt maxAttempts result error reason cluster tag priority createdAt startedAt finishedAt runAfter
    waitingReason runnerId runner { id node load capacity } shard { name } job { id root { id name status } }
    parent { id name status } history { attempt runner outcome error startedAt finishedAt }
  } } pageInfo { hasNextPage endCursor } } }`);
  expect(answer.errors).toBeUndefined();
});
