import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MUTATION_ROLES } from '../../src/api/auth/permissions.js';
import { generateToken, hashToken } from '../../src/api/auth/tokens.js';
import { schema } from '../../src/api/schema/index.js';
import { compileConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/config/index.js';
import { openHarness, type GraphQLAnswer, type Harness } from './harness.js';

/**
 * API tokens with roles: viewer reads, operator starts/stops/retries, admin changes definitions,
 * clusters and worker groups. Refusals carry UNAUTHENTICATED / FORBIDDEN / RATE_LIMITED with the
 * matching HTTP status; every mutation request is in the audit log; CORS is off unless configured.
 */
describe('API access control', () => {
  const tokens = { viewer: generateToken(), operator: generateToken(), admin: generateToken() };
  let harness: Harness;

  beforeAll(async () => {
    harness = await openHarness({
      access: {
        auth: true,
        tokens: Object.entries(tokens).map(([role, token]) => ({ name: `${role}-bot`, role: role as 'viewer', sha256: hashToken(token) })),
        corsOrigins: ['https://ops.example.com'],
        mutationsPerMinute: 1000,
      },
    });
  });
  afterAll(async () => {
    await harness.close();
  });

  async function as(token: string | null, query: string, variables?: object): Promise<{ status: number; body: GraphQLAnswer; text: string }> {
    const response = await harness.post(JSON.stringify({ query, variables }), token === null ? {} : { authorization: `Bearer ${token}` });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as GraphQLAnswer, text };
  }

  it('refuses requests without a valid token with UNAUTHENTICATED and 401', async () => {
    for (const token of [null, 'tp_not-a-real-token', `${tokens.admin}x`]) {
      const answer = await as(token, '{ statistics { total } }');
      expect(answer.status).toBe(401);
      expect(answer.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(answer.body.data ?? null).toBeNull();
    }
    const mutation = await as(null, 'mutation { task { create(funcName: "m.f") } }');
    expect(mutation.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await harness.deps.store.statistics()).total.total).toBe(0);
  });

  it('lets a viewer read but not change anything', async () => {
    expect((await as(tokens.viewer, '{ statistics { total } clusters { slug } }')).body.data).toMatchObject({ statistics: { total: 0 } });
    const refused = await as(tokens.viewer, 'mutation { task { create(funcName: "m.f") } }');
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(refused.body.errors?.[0]?.message).toContain("token 'viewer-bot' has role viewer; this operation needs operator");
    expect((await as(tokens.viewer, '{ auditLog { id } }')).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await as(tokens.operator, '{ exactStatistics { total } }')).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await harness.deps.store.statistics()).total.total).toBe(0);
  });

  it('lets an operator run tasks but not change clusters, even through a fragment', async () => {
    const created = await as(tokens.operator, 'mutation { task { create(funcName: "m.f") } }');
    expect(created.body.errors).toBeUndefined();
    const id = (created.body.data as { task: { create: string } }).task.create;
    expect((await as(tokens.operator, 'mutation ($id: ID!) { task { stop(id: $id) } }', { id })).body.errors).toBeUndefined();
    const sneaky = await as(tokens.operator, 'mutation { ...F } fragment F on Mutation { cluster { create(name: "x") { slug } } }');
    expect(sneaky.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await harness.deps.catalog.listClusters()).map((c) => c.name)).toEqual(['default']);
  });

  it('lets an admin count the runs themselves (exactStatistics), grouped like statistics', async () => {
    await harness.deps.store.createMany([{ funcName: 'm.exact' }, { funcName: 'm.exact' }, { funcName: 'm.other' }]);
    const asked = vi.spyOn(harness.deps.store, 'statistics');
    const answer = await as(tokens.admin, '{ exactStatistics(name: "m.exact") { pending total byName { key counts { pending } } } statistics(name: "m.exact") { total } }');
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data).toEqual({
      exactStatistics: { pending: 2, total: 2, byName: [{ key: 'm.exact', counts: { pending: 2 } }] },
      statistics: { total: 2 },
    });
    // The exact field (and its grouping) asked the store to count the runs; the plain one did not.
    expect(asked.mock.calls.map(([query]) => query)).toEqual(
      expect.arrayContaining([{ name: 'm.exact', exact: true }, { name: 'm.exact', exact: true, groupBy: 'name' }, { name: 'm.exact' }]),
    );
    expect(asked.mock.calls).toHaveLength(3);
    asked.mockRestore();
  });

  it('lets an admin change clusters and read the audit log of every mutation request', async () => {
    const created = await as(tokens.admin, 'mutation { cluster { create(name: "gpu") { slug } } }');
    expect(created.body.errors).toBeUndefined();
    const log = await as(tokens.admin, '{ auditLog(first: 100) { actor role operations outcome errors variables at } }');
    const entries = (log.body.data as { auditLog: Array<{ actor: string; role: string; operations: string[]; outcome: string; errors: string[]; variables: string | null }> }).auditLog;
    expect(entries[0]).toMatchObject({ actor: 'admin-bot', role: 'admin', operations: ['cluster.create'], outcome: 'ok', errors: [] });
    expect(entries).toContainEqual(expect.objectContaining({ actor: 'viewer-bot', operations: ['task.create'], outcome: 'error', errors: ['FORBIDDEN'] }));
    expect(entries).toContainEqual(expect.objectContaining({ actor: 'operator-bot', operations: ['task.stop'], outcome: 'ok' }));
    expect(entries).toContainEqual(expect.objectContaining({ actor: 'unauthenticated', operations: ['task.create'], errors: ['UNAUTHENTICATED'] }));
    expect(entries.find((e) => e.operations[0] === 'task.stop')?.variables).toContain('"id"');
  });

  it('never puts stack traces or internal messages in error bodies', async () => {
    for (const [token, query] of [[null, '{ statistics { total } }'], [tokens.viewer, 'mutation { task { forget(id: "x") } }'], [tokens.admin, 'mutation { task { retry(id: "00000000-0000-4000-8000-000000000000") } }']] as const) {
      const { text } = await as(token, query);
      expect(text).not.toMatch(/\n\s+at |\.ts:\d+|stack/i);
    }
  });

  it('answers CORS only for configured origins', async () => {
    const preflight = (origin: string) =>
      harness.api.yoga.fetch('http://x/graphql', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await preflight('https://ops.example.com')).headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect((await preflight('https://evil.example.com')).headers.get('access-control-allow-origin')).not.toBe('https://evil.example.com');
  });

  it('gives every mutation of the schema a role on purpose', () => {
    const mutation = schema.getMutationType()!;
    const paths = Object.values(mutation.getFields()).flatMap((namespace) => {
      // Unwrapped by hand: vitest may load a second copy of graphql, whose type guards refuse these types.
      let type: unknown = namespace.type;
      while (type && typeof type === 'object' && 'ofType' in type) type = (type as { ofType: unknown }).ofType;
      const fields = (type as { getFields?: () => Record<string, unknown> }).getFields?.();
      return fields ? Object.keys(fields).map((field) => `${namespace.name}.${field}`) : [namespace.name];
    });
    expect(paths.length).toBeGreaterThan(10);
    expect(paths.filter((path) => MUTATION_ROLES[path] === undefined)).toEqual([]);
    // …and the table names no mutation that does not exist.
    expect(Object.keys(MUTATION_ROLES).filter((path) => !paths.includes(path))).toEqual([]);
  });
});

describe('API access control: defaults', () => {
  it('is off without CORS by default in-process, and limits mutations per caller', async () => {
    const harness = await openHarness({ access: { auth: false, tokens: [], corsOrigins: [], mutationsPerMinute: 3 } });
    try {
      const codes: Array<string | undefined> = [];
      for (let i = 0; i < 4; i++) {
        const answer = await harness.gql('mutation { task { create(funcName: "m.f") } }');
        codes.push(answer.errors?.[0]?.extensions?.code as string | undefined);
      }
      expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
      expect((await harness.deps.store.statistics()).total.total).toBe(3);
      const preflight = await harness.api.yoga.fetch('http://x/graphql', { method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await harness.close();
    }
  });

  it('turns auth on when the node listens beyond loopback, and refuses that without tokens', () => {
    const token = generateToken();
    expect(() => compileConfig({ node: { listen: '0.0.0.0:4000' } })).toThrow(ConfigError);
    expect(() => compileConfig({ node: { listen: '0.0.0.0:4000' } })).toThrow(/node\.api\.tokens.*no token is configured/s);
    const on = compileConfig({ node: { listen: '0.0.0.0:4000', api: { tokens: [{ name: 'ops', role: 'admin', sha256: hashToken(token) }] } } });
    expect(on.api).toMatchObject({ auth: true, tokens: [{ name: 'ops', role: 'admin' }] });
    expect(compileConfig({ node: { listen: '127.0.0.1:4000' } }).api.auth).toBe(false);
    expect(compileConfig({ node: { listen: '0.0.0.0:4000', api: { auth: 'off' } } }).api.auth).toBe(false);
    expect(() => compileConfig({ node: { api: { tokens: [{ name: 'ops', role: 'root', sha256: 'x' }] } } })).toThrow(/role/);
  });
});
