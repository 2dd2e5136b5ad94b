import { request as httpRequest, type Agent, type IncomingHttpHeaders } from 'node:http';
import { expect } from 'vitest';
import type { Run } from '../../src/core/types.js';
import { Lazy, writeJson } from '../api/fuzz-values.js';
import { ADMIN_TOKEN, CLUSTERS, isPlainObject, PREFIX, Ref, TOKENS, type Body, type Caller, type GatewayRequest, type LeasePools, type LeaseRecord } from './runner-gateway-fuzz-fixture.js';

/**
 * How the runner gateway fuzz test (runner-gateway-fuzz.test.ts) talks to its node over real
 * HTTP: `encode` turns a generated body into bytes, its `Ref`s filled in from the lease pools
 * held at that moment; `send` sends a generated request and reads back whatever answer comes;
 * `makeGatewayClient` makes the well-formed calls the test makes outside the fuzz (GraphQL as the
 * admin, requests a real runner would send).
 */

/** The body with its `Ref`s filled in from the pools. */
function resolveRefs(value: unknown, pools: LeasePools): unknown {
  if (value instanceof Ref) {
    const list = value.pool === 'guard' ? pools.guards : pools.held[value.pool];
    // Guard i is always guard i % 4 (its owner depends on it). Three in four other refs name one of
    // the eight newest leases (most likely still live), the rest any lease.
    const newest = value.pool !== 'guard' && value.index % 4 !== 0;
    const at = newest ? list.length - 1 - ((value.index >> 1) % Math.min(list.length, 8)) : value.index % list.length;
    const lease = list[at]!;
    return value.field === 'next-attempt' ? lease.attempt + 1 : lease[value.field];
  }
  if (Array.isArray(value)) return value.map((item) => resolveRefs(item, pools));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveRefs(item, pools)]));
  return value;
}

export interface Answer {
  /** 0 when no HTTP answer came back. */
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  readonly error: string | null;
  readonly ms: number;
}

const TIMEOUT_MS = 20_000;
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/**
 * Sends one request to `base` over a socket of `agent` (node:http, so a refusal the server sends
 * while the body is still being written is read, not lost to the write error). An event stream
 * is read up to its first event, then dropped: streams never pile up on the node.
 */
export function send(base: URL, agent: Agent, request: GatewayRequest, body: Buffer | null, chunked: boolean): Promise<Answer> {
  return new Promise((resolve) => {
    const started = Date.now();
    let answered = false;
    let done = false;
    const finish = (answer: Omit<Answer, 'ms'>, drop: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (drop) req.destroy();
      resolve({ ...answer, ms: Date.now() - started });
    };
    const headers: Record<string, string | number> = {};
    if (request.authorization !== null) headers.authorization = request.authorization;
    if (request.contentType !== null) headers['content-type'] = request.contentType;
    if (body && !chunked) headers['content-length'] = body.length;
    const req = httpRequest({ host: base.hostname, port: base.port, method: request.method, path: request.path, headers, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      const stream = (res.headers['content-type'] ?? '').startsWith('text/event-stream');
      const whole = () => ({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), error: null });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) finish({ ...whole(), error: `answer over ${MAX_ANSWER_BYTES} bytes` }, true);
        else if (stream && Buffer.concat(chunks).includes('\n\n')) finish(whole(), true);
      });
      res.on('end', () => finish(whole(), false));
      res.on('error', (error) => finish({ ...whole(), error: `answer cut: ${error.message}` }, true));
    });
    const timer = setTimeout(() => finish({ status: 0, headers: {}, text: '', error: `no answer within ${TIMEOUT_MS} ms` }, true), TIMEOUT_MS);
    // Once the answer is in, a write the server no longer reads (it refused the body) may fail: that is not a finding.
    req.on('error', (error) => {
      if (!answered) finish({ status: 0, headers: {}, text: '', error: error.message }, true);
    });
    if (body && chunked) {
      for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
      req.end();
    } else {
      req.end(body ?? undefined);
    }
  });
}

/** The bytes of a body, and the value sent (refs filled in from `pools`) for the oracle. */
export function encode(body: Body | undefined, pools: LeasePools): { bytes: Buffer | null; chunked: boolean; sent: unknown } {
  if (!body) return { bytes: null, chunked: false, sent: undefined };
  switch (body.kind) {
    case 'json': {
      const sent = resolveRefs(body.value, pools);
      return { bytes: Buffer.from(writeJson(sent), 'utf8'), chunked: false, sent };
    }
    case 'text':
      return { bytes: Buffer.from(body.text, 'utf8'), chunked: false, sent: body.text };
    case 'bytes':
      return { bytes: Buffer.from(body.bytes), chunked: false, sent: body.bytes };
    case 'pad':
      return { bytes: Buffer.from(`"${'x'.repeat(body.bytes - 2)}"`), chunked: body.chunked, sent: new Lazy('string', body.bytes - 2) };
  }
}

/** The calls the test makes outside the fuzz, to the node at `base`. */
export function makeGatewayClient(base: URL) {
  async function gql<T = any>(query: string): Promise<{ data?: T; errors?: Array<{ message: string }> }> {
    const response = await fetch(new URL('/graphql', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
  }

  /** A request a real runner would send, outside the fuzz (`body` is written with `writeJson`). */
  async function runnerCall(caller: Caller, route: string, body: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(new URL(`${PREFIX}${route}`, base), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS[caller]}`, 'content-type': 'application/json' },
      body: writeJson(body),
    });
    return { status: response.status, body: await response.json() };
  }

  /** Takes what `runner` of `caller` can claim with `handlers` (up to 100 runs), as leases; any answer but 200 fails the test. */
  async function take(caller: Caller, runner: string, handlers: string[]): Promise<LeaseRecord[]> {
    const answer = await runnerCall(caller, 'take', { runner: { id: runner, cluster: CLUSTERS[caller], tags: ['default'], handlers }, limit: 100 });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return (answer.body.runs as Run[]).map((run) => ({ id: run.id, attempt: run.attempt, runner: run.runner! }));
  }

  return { gql, runnerCall, take };
}

export type GatewayClient = ReturnType<typeof makeGatewayClient>;
