import { ApiError, ENDPOINT, authHeaders, errorFromGraphQL, onAuthChange } from './api.js';

/**
 * GraphQL subscriptions over server-sent events (yoga's "distinct connections" mode: one POST
 * with `Accept: text/event-stream` per subscription, answered with `event: next` blocks).
 *
 * fetch rather than EventSource: EventSource can neither POST nor send the Authorization header.
 *
 * A stream that drops (network, node restart, `event: complete` when a node shuts down) is
 * reopened after 1 s, 2 s, 4 s … up to 30 s, with jitter so many tabs do not return in step; the
 * delay resets once a stream has stayed up. Each time a stream opens (the first time too)
 * `onOpen` runs, so a view re-reads what may have changed while it had no stream: a view reads,
 * then subscribes, and a change between the two would otherwise be lost until the next one.
 *
 * An error the server sends on the stream (a bad filter, no token) is final: the same request
 * would fail the same way, so it is reported and not retried, except that a new token reopens
 * streams stopped for UNAUTHENTICATED.
 *
 * State per stream: connecting → open ⇄ reconnecting, and → failed or closed.
 */

const MAX_DELAY_MS = 30_000;
const STABLE_AFTER_MS = 10_000;

const streams = new Map();
const stateListeners = new Set();

function setState(id, state) {
  if (state === null) streams.delete(id);
  else streams.set(id, state);
  stateListeners.forEach((listener) => listener(liveState()));
}

/** `live` (every stream open), `reconnecting` (one is down), `failed`, or `idle` (no stream). */
export function liveState() {
  const states = [...streams.values()];
  if (states.includes('reconnecting') || states.includes('connecting')) return 'reconnecting';
  if (states.includes('failed')) return 'failed';
  return states.length > 0 ? 'live' : 'idle';
}

export function onLiveState(listener) {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}

let nextId = 0;

/**
 * Subscribes; returns the function that ends the subscription.
 * @param {string} query a `subscription { … }` document
 * @param {object} variables
 * @param {{ onData: (data: object) => void, onError?: (error: ApiError) => void, onOpen?: () => void }} handlers
 */
export function subscribe(query, variables, handlers) {
  const id = ++nextId;
  let closed = false;
  let controller = null;
  let timer = null;
  let failures = 0;
  let stopOnAuth = null;

  const body = JSON.stringify({ query, variables });

  function fail(error) {
    setState(id, 'failed');
    handlers.onError?.(error);
    if (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN') {
      stopOnAuth = onAuthChange(({ needed }) => {
        if (needed || closed) return;
        stopOnAuth?.();
        stopOnAuth = null;
        void open(true);
      });
    }
  }

  async function open(isReopen) {
    controller = new AbortController();
    setState(id, isReopen ? 'reconnecting' : 'connecting');
    let openedAt = 0;
    try {
      const response = await fetch(ENDPOINT, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...authHeaders() },
        body,
        signal: controller.signal,
      });
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok || !response.body || !type.includes('text/event-stream')) {
        const answer = await response.json().catch(() => null);
        if (answer?.errors?.length) return fail(errorFromGraphQL(answer.errors));
        if (response.status >= 400 && response.status < 500) {
          return fail(new ApiError(`The live stream was refused: ${response.status} ${response.statusText}`.trim(), `HTTP_${response.status}`));
        }
        throw new Error(`HTTP ${response.status}`);
      }
      openedAt = Date.now();
      setState(id, 'open');
      // The first open re-reads too: the view's first read may predate the subscription.
      handlers.onOpen?.();
      const fatal = await readEvents(response.body, (payload) => {
        if (payload.errors?.length) return errorFromGraphQL(payload.errors);
        failures = 0;
        if (payload.data) handlers.onData(payload.data);
        return null;
      });
      if (fatal) return fail(fatal);
    } catch (error) {
      if (closed) return;
      if (error?.name !== 'AbortError') console.debug('live stream dropped', error);
    }
    if (closed) return;
    if (openedAt && Date.now() - openedAt > STABLE_AFTER_MS) failures = 0;
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** failures) * (0.5 + Math.random() / 2);
    failures++;
    setState(id, 'reconnecting');
    timer = setTimeout(() => void open(true), delay);
  }

  void open(false);
  return () => {
    closed = true;
    clearTimeout(timer);
    stopOnAuth?.();
    controller?.abort();
    setState(id, null);
  };
}

/**
 * Reads SSE blocks until the stream ends. `onNext` gets each `next` payload and returns an error
 * to stop with, or null to go on. Resolves to that error, or null when the stream ended.
 */
async function readEvents(stream, onNext) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffered += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = 'message';
        const data = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        // Comment lines (`:`) are the server's keep-alive pings.
        if (event === 'complete') return null;
        if (event !== 'next' || data.length === 0) continue;
        let payload;
        try {
          payload = JSON.parse(data.join('\n'));
        } catch {
          continue;
        }
        const fatal = onNext(payload);
        if (fatal) return fatal;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
