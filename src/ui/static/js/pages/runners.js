import { Empty, ErrorBox, LoadBar, Loading, Section, Tags, Time, useQuery } from '../components.js';
import { enumLabel } from '../format.js';
import { html } from '../html.js';
import { replaceHash, href } from '../router.js';

/**
 * Live runners (load against capacity, tags, group, last heartbeat, state) and the worker groups
 * they form, optionally of one cluster. The registry has no stream, so this re-reads every 3 s.
 */

const QUERY = `query Runners($cluster: String) {
  runners(cluster: $cluster) { id node cluster group tags handlers capacity load state lastHeartbeat startedAt }
  workerGroups(cluster: $cluster) { cluster name tags handlers capacity load runners { id } }
  clusters { slug }
}`;

function Handlers({ names }) {
  if (names.length === 0) return html`<span class="muted">none</span>`;
  const shown = names.slice(0, 4).join(', ');
  return html`<span title=${names.join('\n')}>${shown}${names.length > 4 ? ` +${names.length - 4}` : ''}</span>`;
}

export function RunnersPage({ params }) {
  const cluster = params.get('cluster') ?? '';
  const { data, error, reload } = useQuery(QUERY, cluster ? { cluster } : {}, { refreshMs: 3000 });
  const picker = html`<label class="inline">Cluster
    <select value=${cluster} onChange=${(e) => replaceHash(href('/runners', { cluster: e.currentTarget.value }))}>
      <option value="">all</option>
      ${(data?.clusters ?? []).map((c) => html`<option value=${c.slug}>${c.slug}</option>`)}
    </select></label>`;
  if (!data) return error ? html`<${ErrorBox} error=${error} onRetry=${reload} />` : html`<${Loading} what="Reading runners" />`;
  const runners = [...data.runners].sort((a, b) => a.cluster.localeCompare(b.cluster) || a.id.localeCompare(b.id));
  return html`<div class="page">
    <${ErrorBox} error=${error} />
    <${Section} title=${`Runners (${runners.length})`} id="runners-title" actions=${picker}>
      ${runners.length === 0 ? html`<${Empty}>No live runner${cluster ? ` in ${cluster}` : ''}. Runs wait (pending) until one registers.</${Empty}>` : html`<table class="table" aria-labelledby="runners-title">
        <thead><tr><th scope="col">Runner</th><th scope="col">Cluster</th><th scope="col">Group</th><th scope="col">Tags</th>
          <th scope="col">Load</th><th scope="col">Handlers</th><th scope="col">Last heartbeat</th><th scope="col">State</th></tr></thead>
        <tbody>${runners.map(
          (r) => html`<tr data-runner=${r.id}>
            <td><code>${r.id}</code>${r.node !== r.id && html` <span class="muted">on ${r.node}</span>`}</td>
            <td>${r.cluster}</td><td>${r.group}</td><td><${Tags} tags=${r.tags} /></td>
            <td><${LoadBar} load=${r.load} capacity=${r.capacity} /></td>
            <td><${Handlers} names=${r.handlers} /></td>
            <td><${Time} iso=${r.lastHeartbeat} relative /></td>
            <td><span class=${`state ${r.state.toLowerCase()}`}>${enumLabel(r.state)}</span></td>
          </tr>`,
        )}</tbody>
      </table>`}
    </${Section}>
    <${Section} title=${`Worker groups (${data.workerGroups.length})`} id="groups-title">
      ${data.workerGroups.length === 0 ? html`<${Empty}>No worker groups (they form when runners register).</${Empty}>` : html`<table class="table" aria-labelledby="groups-title">
        <thead><tr><th scope="col">Cluster</th><th scope="col">Group</th><th scope="col">Tags</th><th scope="col">Runners</th><th scope="col">Load</th><th scope="col">Handlers</th></tr></thead>
        <tbody>${data.workerGroups.map(
          (g) => html`<tr>
            <td>${g.cluster}</td><td>${g.name}</td><td><${Tags} tags=${g.tags} /></td><td class="num">${g.runners.length}</td>
            <td><${LoadBar} load=${g.load} capacity=${g.capacity} /></td><td><${Handlers} names=${g.handlers} /></td>
          </tr>`,
        )}</tbody>
      </table>`}
    </${Section}>
  </div>`;
}
