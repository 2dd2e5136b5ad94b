import { CountChips, ErrorBox, Loading, Section } from '../components.js';
import { STATUSES } from '../format.js';
import { html } from '../html.js';
import { href } from '../router.js';
import { ThroughputChart, useStatistics } from '../throughput.js';

/** Counts by status (each a link to those runs), the throughput chart, counts per cluster and per task. */

function GroupTable({ rows, keyLabel, link }) {
  if (rows.length === 0) return html`<p class="empty">No runs yet.</p>`;
  return html`<table class="table">
    <thead><tr><th scope="col">${keyLabel}</th><th scope="col" class="num">Total</th><th scope="col">By status</th></tr></thead>
    <tbody>${rows.map(
      (row) => html`<tr>
        <td><a href=${link(row.key)}>${row.key}</a></td>
        <td class="num">${row.counts.total}</td>
        <td><${CountChips} counts=${row.counts} /></td>
      </tr>`,
    )}</tbody>
  </table>`;
}

export function DashboardPage() {
  const { latest, samples, error } = useStatistics();
  if (!latest) return error ? html`<${ErrorBox} error=${error} />` : html`<${Loading} what="Reading statistics" />`;
  const byTotal = (a, b) => b.counts.total - a.counts.total || a.key.localeCompare(b.key);
  return html`<div class="page">
    <${ErrorBox} error=${error} />
    ${latest.unavailableShards.length > 0 &&
    html`<div class="warning" role="status">Shards not answering (their runs are not counted): ${latest.unavailableShards.join(', ')}</div>`}
    <div class="stat-grid" aria-label="Runs by status">
      ${STATUSES.map(
        (s) => html`<a class=${`stat st-${s.value.toLowerCase()}`} href=${href('/runs', { status: s.value })} data-status=${s.value}>
          <span class="stat-value">${latest[s.field]}</span><span class="stat-label">${s.label}</span>
        </a>`,
      )}
      <a class="stat total" href=${href('/runs')}><span class="stat-value">${latest.total}</span><span class="stat-label">total</span></a>
    </div>
    <${Section} title="Throughput" id="throughput-title"><${ThroughputChart} samples=${samples} /></${Section}>
    <div class="two-columns">
      <${Section} title="By cluster" id="by-cluster-title">
        <${GroupTable} rows=${[...latest.byCluster].sort(byTotal)} keyLabel="Cluster" link=${(key) => href('/runs', { cluster: key })} />
      </${Section}>
      <${Section} title="By task" id="by-task-title">
        <${GroupTable} rows=${[...latest.byName].sort(byTotal).slice(0, 25)} keyLabel="Task" link=${(key) => href('/runs', { name: key })} />
      </${Section}>
    </div>
  </div>`;
}
