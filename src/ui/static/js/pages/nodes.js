import { Empty, ErrorBox, Loading, Section, Time, useQuery } from '../components.js';
import { enumLabel } from '../format.js';
import { html } from '../html.js';

/** Live nodes (processes) with their roles, storage, the leases they hold and their runners. Re-read every 5 s. */

const QUERY = `query Nodes {
  nodes { id roles listen storage coordination pid version startedAt lastHeartbeat leases { name expiresAt token } runners { id } }
}`;

export function NodesPage() {
  const { data, error, reload } = useQuery(QUERY, {}, { refreshMs: 5000 });
  if (!data) return error ? html`<${ErrorBox} error=${error} onRetry=${reload} />` : html`<${Loading} what="Reading nodes" />`;
  const nodes = [...data.nodes].sort((a, b) => a.id.localeCompare(b.id));
  return html`<div class="page">
    <${ErrorBox} error=${error} />
    <${Section} title=${`Nodes (${nodes.length})`} id="nodes-title">
      ${nodes.length === 0 ? html`<${Empty}>No live nodes.</${Empty}>` : html`<table class="table" aria-labelledby="nodes-title">
        <thead><tr><th scope="col">Node</th><th scope="col">Roles</th><th scope="col">Listen</th><th scope="col">Storage</th>
          <th scope="col">Coordination</th><th scope="col">Leases</th><th scope="col">Runners</th><th scope="col">Started</th><th scope="col">Heartbeat</th></tr></thead>
        <tbody>${nodes.map(
          (n) => html`<tr data-node=${n.id}>
            <td><code>${n.id}</code> <span class="muted">pid ${n.pid} · v${n.version}</span></td>
            <td>${n.roles.map((r) => html`<span class="tag">${enumLabel(r)}</span>`)}</td>
            <td>${n.listen ? html`<code>${n.listen}</code>` : html`<span class="muted">—</span>`}</td>
            <td>${n.storage === 'embedded' ? html`<span class="badge embedded">embedded</span>` : n.storage}</td>
            <td>${n.coordination}</td>
            <td>${n.leases.length === 0 ? html`<span class="muted">—</span>` : n.leases.map((l) => html`<span class="tag" title=${`token ${l.token}, until ${l.expiresAt}`}>${l.name}</span>`)}</td>
            <td class="num">${n.runners.length}</td>
            <td><${Time} iso=${n.startedAt} relative /></td>
            <td><${Time} iso=${n.lastHeartbeat} relative /></td>
          </tr>`,
        )}</tbody>
      </table>`}
    </${Section}>
  </div>`;
}
