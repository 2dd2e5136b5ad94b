import { connect } from 'node:net';
import type { FuzzRequest, Role } from './fuzz-requests.js';

/**
 * Sends fuzz requests to a live node over real HTTP (fetch, or a plain socket for malformed
 * HTTP) and records what came back. Placeholders (`@@token:admin@@`, `@@run:3@@`) are filled in
 * from the pools the test gathered from the node before the run.
 */

export interface Pools {
  readonly tokens: Readonly<Record<Role, string>>;
  readonly run: string[];
  readonly job: string[];
  readonly def: string[];
  readonly cluster: string[];
  readonly cursor: string[];
  readonly group: string[];
}

export interface Answer {
  /** 0 when no HTTP answer came back. */
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  /** `data:` payloads of server-sent events, for requests read as a stream. */
  readonly events: readonly string[] | null;
  /** A transport failure (reset, timeout); null when an answer arrived. */
  readonly error: string | null;
  readonly ms: number;
}

/** Bodies are read up to this many bytes; a larger answer is itself a finding. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const TIMEOUT_MS = 20_000;
/** How long a subscription stream is read before the client drops it. */
const STREAM_MS = 250;

export function fillIn(text: string, pools: Pools): string {
  return text.replace(/@@(\w+):(\w+)@@/g, (whole, pool: string, key: string) => {
    if (pool === 'token') return pools.tokens[key as Role] ?? whole;
    const items = (pools as unknown as Record<string, string[] | undefined>)[pool];
    return items && items.length > 0 ? (items[Number(key) % items.length] ?? whole) : 'none';
  });
}

export async function send(base: URL, request: FuzzRequest, pools: Pools): Promise<Answer> {
  const started = Date.now();
  if (request.raw !== undefined) return sendRaw(base, fillIn(request.raw, pools), started);
  const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, fillIn(value, pools)]));
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? fillIn(request.body, pools)
        : `{"query":"{ __typename }","variables":{"pad":"${'x'.repeat(request.body.padded)}"}}`;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error('timeout')), TIMEOUT_MS);
  try {
    const response = await fetch(new URL(fillIn(request.path, pools), base), {
      method: request.method,
      headers,
      ...(body === undefined || request.method === 'GET' || request.method === 'HEAD' ? {} : { body }),
      signal: abort.signal,
    });
    const contentType = response.headers.get('content-type') ?? '';
    if (request.sse && contentType.startsWith('text/event-stream')) {
      const text = await readStream(response, STREAM_MS, abort);
      return { status: response.status, contentType, text, events: sseData(text), error: null, ms: Date.now() - started };
    }
    const text = await readStream(response, TIMEOUT_MS, abort);
    return { status: response.status, contentType, text, events: null, error: null, ms: Date.now() - started };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { status: 0, contentType: '', text: '', events: null, error: `${(error as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`, ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/**
 * Reads a body for at most `ms` (a stream is cut there: the client goes away, as browsers do)
 * and at most `MAX_ANSWER_BYTES`. A stream ends early once it delivered a complete event.
 */
async function readStream(response: Response, ms: number, abort: AbortController): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  const stop = setTimeout(() => abort.abort(), ms);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
      if (bytes > MAX_ANSWER_BYTES) throw new Error(`answer over ${MAX_ANSWER_BYTES} bytes`);
      if (ms < TIMEOUT_MS && /\ndata: [^\n]+\n\n/.test(text)) break;
    }
  } catch (error) {
    // The stream was cut on purpose (its time was up); anything else is a finding.
    if (!(abort.signal.aborted && ms < TIMEOUT_MS)) throw error;
  } finally {
    clearTimeout(stop);
    void reader.cancel().catch(() => {});
  }
  return text + decoder.decode();
}

function sseData(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim())
    .filter((data) => data !== '');
}

function sendRaw(base: URL, raw: string, started: number): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    const finish = (error: string | null) => {
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      const contentType = /\r\ncontent-type: *([^\r]*)/i.exec(text)?.[1] ?? '';
      const bodyText = text.includes('\r\n\r\n') ? text.slice(text.indexOf('\r\n\r\n') + 4) : '';
      resolve({ status, contentType, text: bodyText, events: null, error: status === 0 ? (error ?? 'no answer') : null, ms: Date.now() - started });
    };
    socket.setTimeout(5000, () => finish('timeout'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish(null));
    socket.on('close', () => finish(null));
    socket.on('error', (error) => finish(error.message));
    socket.write(Buffer.from(raw, 'latin1'));
  });
}
