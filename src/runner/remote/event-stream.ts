import type { JsonValue } from '../../core/types.js';

/**
 * Reads a server-sent event stream (`text/event-stream`) from a fetch response until it ends,
 * the signal aborts it, or nothing arrives for `idleMs` (a half-open connection looks exactly
 * like a quiet one, so the server's keep-alive comments are what tell them apart). Only what the
 * runner gateway sends is understood: `event:` and `data:` (JSON) lines, and `:` comments.
 * An event larger than `maxEventBytes` ends the stream.
 */
export interface EventStreamOptions {
  readonly signal: AbortSignal;
  readonly idleMs: number;
  readonly onEvent: (event: string, data: JsonValue) => void;
  /** @defaultValue 65536 */
  readonly maxEventBytes?: number;
}

export async function readEventStream(response: Response, options: EventStreamOptions): Promise<void> {
  const body = response.body;
  if (!body) throw new Error('the event stream has no body');
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const max = options.maxEventBytes ?? 65_536;
  let buffer = '';
  let idle: NodeJS.Timeout | undefined;
  const cancel = () => void reader.cancel().catch(() => {});
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(cancel, options.idleMs);
  };
  options.signal.addEventListener('abort', cancel);
  try {
    arm();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || options.signal.aborted) return;
      arm();
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        const parsed = parseBlock(block);
        if (parsed) options.onEvent(parsed.event, parsed.data);
      }
      if (buffer.length > max) throw new Error(`an event of the stream is over ${max} bytes`);
    }
  } finally {
    clearTimeout(idle);
    options.signal.removeEventListener('abort', cancel);
    cancel();
  }
}

function parseBlock(block: string): { event: string; data: JsonValue } | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { event, data: JSON.parse(data.join('\n')) as JsonValue };
  } catch {
    return null;
  }
}
