import { useEffect, useState } from 'preact/hooks';
import { gql } from './api.js';
import { FINAL } from './format.js';
import { html } from './html.js';

/**
 * The actions a run's status allows: stop a pending or running one; retry or forget a finished
 * one. Forget deletes the record, so it asks once more on the button itself (no modal dialog).
 * The new status arrives through the live stream; `onDone` lets a view without one re-read.
 */

const MUTATIONS = {
  stop: 'mutation Stop($id: ID!) { task { stop(id: $id) } }',
  retry: 'mutation Retry($id: ID!) { task { retry(id: $id) } }',
  forget: 'mutation Forget($id: ID!) { task { forget(id: $id) } }',
};

export function RunActions({ run, onDone, onError }) {
  const [busy, setBusy] = useState(null);
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    if (!confirming) return undefined;
    const timer = setTimeout(() => setConfirming(false), 4000);
    return () => clearTimeout(timer);
  }, [confirming]);

  async function act(action) {
    if (action === 'forget' && !confirming) return setConfirming(true);
    setConfirming(false);
    setBusy(action);
    try {
      await gql(MUTATIONS[action], { id: run.id });
      onDone?.(action, run);
    } catch (error) {
      onError?.(error);
    } finally {
      setBusy(null);
    }
  }

  const button = (action, text, verb, extra = '') => html`<button type="button" class=${`btn small ${extra}`} disabled=${busy !== null}
      aria-label=${`${verb} run ${run.id}`} onClick=${() => act(action)}>${busy === action ? '…' : text}</button>`;

  if (!FINAL.has(run.status)) {
    return html`<span class="actions">${run.stopRequested ? html`<span class="muted">stopping…</span>` : button('stop', 'Stop', 'Stop', 'danger')}</span>`;
  }
  return html`<span class="actions">${button('retry', 'Retry', 'Retry')}${confirming
    ? button('forget', 'Sure?', 'Confirm forget', 'danger')
    : button('forget', 'Forget', 'Forget')}</span>`;
}
