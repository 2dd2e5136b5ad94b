import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { ShardUnavailableError, TaskplaneError } from '../../core/errors.js';
import type { ApiLogger } from '../context.js';
import { INTERNAL_MESSAGE } from '../mask-error.js';

/**
 * Reading requests and writing answers for the runner gateway. Every refusal is a
 * `GatewayError` with an HTTP status and a code; anything else thrown while serving is logged
 * whole and answered `INTERNAL` with a fixed message, so stacks and internal messages never leave
 * the server (as `mask-error.ts` does for GraphQL).
 */

export class GatewayError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: string, message: string, headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.name = 'GatewayError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  SHARD_UNAVAILABLE: 503,
  COORDINATION_UNAVAILABLE: 503,
};

/** Reads a JSON body of at most `maxBytes`; 413 beyond, 415 when it is not JSON, 400 when it does not parse. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new GatewayError(415, 'BAD_USER_INPUT', 'send the body as JSON (content-type: application/json)');
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > maxBytes) throw new GatewayError(413, 'REQUEST_ENTITY_TOO_LARGE', `request body of ${declared} bytes is over the limit of ${maxBytes} bytes`);
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      // Refuse at once; the rest is read and dropped, so the answer reaches the client (the
      // connection is then closed, see `connection: close` on 413).
      req.off('data', onData);
      req.resume();
      reject(new GatewayError(413, 'REQUEST_ENTITY_TOO_LARGE', `request body is over the limit of ${maxBytes} bytes`));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new GatewayError(400, 'BAD_USER_INPUT', 'the request body is not valid JSON');
  }
}

/** Parses `value` with `schema`, or refuses with `BAD_USER_INPUT` naming the first bad field. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue && issue.path.length > 0 ? `${what}.${issue.path.join('.')}` : what;
  let message = issue?.message.replace(/^Invalid input: /, '') ?? 'is invalid';
  if (issue?.code === 'unrecognized_keys') message = `unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  throw new GatewayError(400, 'BAD_USER_INPUT', `${path}: ${message}`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The answer for anything thrown while serving a request. */
export function sendError(res: ServerResponse, error: unknown, log: ApiLogger, context: object): void {
  let status: number;
  let code: string;
  let message: string;
  let headers: Readonly<Record<string, string>> = {};
  if (error instanceof GatewayError) {
    ({ status, code, message, headers } = error);
  } else if (error instanceof TaskplaneError && error.code !== 'INTERNAL' && STATUS_OF_CODE[error.code] !== undefined) {
    status = STATUS_OF_CODE[error.code]!;
    code = error.code;
    // A shard's driver message can name hosts; the shard's name is enough for a runner.
    message = error instanceof ShardUnavailableError ? `shard ${error.shard} is unavailable` : error.message;
  } else {
    log.error({ err: error, ...context }, 'internal error in a runner gateway request');
    status = 500;
    code = 'INTERNAL';
    message = INTERNAL_MESSAGE;
  }
  sendJson(res, status, { error: { code, message } }, headers);
}
