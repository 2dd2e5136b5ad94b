import { CountChips, Empty, ErrorBox, Loading, Section, useQuery } from '../components.js';
import { COUNT_FIELDS } from '../format.js';
import { html } from '../html.js';

/** Shards with their health (ping latency or error), buckets and runs by status. Re-read every 5 s. */

const QUERY = `query Shards {
  shards { name engine health { ok latencyMs error } bucketCount bucketRanges { from to } counts { ${COUNT_FIELDS} } }
}`;

function ranges(list) {
  if (list.length === 0) return html`<span class="muted">—</span>`;
  const text = list.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}–${r.to}`)).join(', ');
  return text.length > 40 ? html`<span title=${text}>${text.slice(0, 39)}…</span>` : text;
}

export function ShardsPage() {
  const { data, error, reload } = useQuery(QUERY, {}, { refreshMs: 5000 });
  if (!data) return error ? html`<${ErrorBox} error=${error} onRetry=${reload} />` : html`<${Loading} what="Reading shards" />`;
  return html`<div class="page">
    <${ErrorBox} error=${error} />
    <${Section} title=${`Shards (${data.shards.length})`} id="shards-title">
      ${data.shards.length === 0 ? html`<${Empty}>No shards.</${Empty}>` : html`<table class="table" aria-labelledby="shards-title">
        <thead><tr><th scope="col">Shard</th><th scope="col">Engine</th><th scope="col">Health</th><th scope="col">Buckets</th>
          <th scope="col" class="num">Runs</th><th scope="col">By status</th></tr></thead>
        <tbody>${data.shards.map(
          (s) => html`<tr data-shard=${s.name}>
            <td><code>${s.name}</code></td>
            <td>${s.engine === 'embedded' ? html`<span class="badge embedded">embedded</span>` : s.engine}</td>
            <td>${s.health.ok
              ? html`<span class="health ok">up</span> <span class="muted">${s.health.latencyMs?.toFixed(1)} ms</span>`
              : html`<span class="health down">down</span> <span class="error-text">${s.health.error ?? ''}</span>`}</td>
            <td>${s.bucketCount ?? '—'} <span class="muted">${ranges(s.bucketRanges)}</span></td>
            <td class="num">${s.counts ? s.counts.total : html`<span class="muted">?</span>`}</td>
            <td><${CountChips} counts=${s.counts} empty=${s.counts ? 'no runs' : 'not answering'} /></td>
          </tr>`,
        )}</tbody>
      </table>`}
    </${Section}>
  </div>`;
}
