import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { gql } from './api.js';
import { formatTime, relativeTime, statusLabel, STATUSES } from './format.js';
import { html } from './html.js';
import { subscribe } from './live.js';

/** Small pieces every screen uses: data hooks, status chips, errors, times, bars. */

/**
 * Runs `query` now and whenever `variables` change (and every `refreshMs` when given). Keeps the
 * last data while a new read is in flight, so a refresh does not blank the screen.
 *
 * `invalidate()` is for live events: an event that arrives while a read is in flight may be
 * older or newer than what that read returns, so the read is repeated once it lands (at most
 * once per second) instead of letting a stale answer overwrite the event.
 */
export function useQuery(query, variables = {}, { refreshMs = 0 } = {}) {
  const key = JSON.stringify(variables);
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const flight = useRef({ busy: false, dirty: false });
  useEffect(() => {
    const controller = new AbortController();
    let alive = true;
    let timer = null;
    const load = async () => {
      flight.current = { busy: true, dirty: false };
      try {
        const data = await gql(query, JSON.parse(key), { signal: controller.signal });
        if (alive) setState({ data, error: null, loading: false });
      } catch (error) {
        if (!alive || error?.name === 'AbortError') return;
        setState((s) => ({ data: s.data, error, loading: false }));
      } finally {
        if (alive) {
          const again = flight.current.dirty;
          flight.current = { busy: false, dirty: false };
          if (again || refreshMs > 0) timer = setTimeout(load, again ? Math.min(1000, refreshMs || 1000) : refreshMs);
        }
      }
    };
    setState((s) => ({ ...s, loading: true }));
    void load();
    return () => {
      alive = false;
      controller.abort();
      clearTimeout(timer);
    };
  }, [query, key, tick, refreshMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const setData = useCallback((update) => setState((s) => ({ ...s, data: update(s.data) })), []);
  const invalidate = useCallback(() => {
    if (flight.current.busy) flight.current.dirty = true;
  }, []);
  return { ...state, reload, setData, invalidate };
}

/**
 * Keeps a subscription open while the component is mounted and `variables` stay the same.
 * Handlers are read through a ref, so they may close over fresh state without resubscribing.
 */
export function useSubscription(query, variables, handlers) {
  const ref = useRef(handlers);
  ref.current = handlers;
  const key = JSON.stringify(variables);
  useEffect(
    () =>
      subscribe(query, JSON.parse(key), {
        onData: (data) => ref.current.onData(data),
        onError: (error) => ref.current.onError?.(error),
        onOpen: () => ref.current.onOpen?.(),
      }),
    [query, key],
  );
}

export function StatusChip({ status }) {
  return html`<span class=${`chip st-${String(status).toLowerCase()}`}>${statusLabel(status)}</span>`;
}

/** Non-zero counts as chips (`3 running · 10 completed`); `empty` when there are none. */
export function CountChips({ counts, empty = '—' }) {
  const shown = counts ? STATUSES.filter((s) => counts[s.field] > 0) : [];
  if (shown.length === 0) return html`<span class="muted">${empty}</span>`;
  return html`<span class="counts">${shown.map(
    (s) => html`<span class=${`chip st-${s.value.toLowerCase()}`} title=${s.label}>${counts[s.field]} ${s.label}</span>`,
  )}</span>`;
}

/** An API error as a person reads it: the message, the code, and a way to try again. */
export function ErrorBox({ error, onRetry }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <span class="error-code">${error.code ?? 'ERROR'}</span>
    <span class="error-message">${error.message}</span>
    ${onRetry && html`<button type="button" class="link" onClick=${onRetry}>Try again</button>`}
  </div>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="muted loading" aria-live="polite">${what}…</p>`;
}

/** An instant as local date-time, with the relative time and the exact instant on hover. */
export function Time({ iso, relative = false }) {
  if (!iso) return html`<span class="muted">—</span>`;
  const text = relative ? relativeTime(iso) : formatTime(iso);
  return html`<time datetime=${iso} title=${`${iso} (${relativeTime(iso)})`}>${text}</time>`;
}

/** Load against capacity, as a bar and `load / capacity`. */
export function LoadBar({ load, capacity }) {
  const share = capacity > 0 ? Math.min(1, load / capacity) : 0;
  const level = share >= 0.9 ? 'high' : share >= 0.6 ? 'mid' : 'low';
  return html`<span class="loadbar" role="meter" aria-valuemin="0" aria-valuemax=${capacity} aria-valuenow=${load}
      aria-label=${`${load} of ${capacity} slots busy`}>
    <span class="loadbar-track"><span class=${`loadbar-fill ${level}`} style=${`width:${(share * 100).toFixed(1)}%`}></span></span>
    <span class="loadbar-text">${load} / ${capacity}</span>
  </span>`;
}

export function Tags({ tags }) {
  if (!tags?.length) return html`<span class="muted">—</span>`;
  return html`<span class="tags">${tags.map((tag) => html`<span class="tag">${tag}</span>`)}</span>`;
}

/** A titled block with optional controls on the right of the title. */
export function Section({ title, actions, children, id }) {
  return html`<section class="card" aria-labelledby=${id}>
    <header class="card-head"><h2 id=${id}>${title}</h2>${actions && html`<div class="card-actions">${actions}</div>`}</header>
    ${children}
  </section>`;
}

/** A two-column list of labelled values (a run's fields). */
export function Fields({ rows }) {
  return html`<dl class="fields">${rows
    .filter(Boolean)
    .map(([label, value]) => html`<dt>${label}</dt><dd>${value === '' || value == null ? html`<span class="muted">—</span>` : value}</dd>`)}</dl>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}
