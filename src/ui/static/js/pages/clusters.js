import { CountChips, Empty, ErrorBox, Loading, Section, Time, useQuery } from '../components.js';
import { COUNT_FIELDS } from '../format.js';
import { html } from '../html.js';
import { href } from '../router.js';

/** Clusters: where runs wait for runners, with their runs by status and who serves them. Re-read every 5 s. */

const QUERY = `query Clusters {
  clusters { slug name description isDefault createdAt counts { ${COUNT_FIELDS} } runners { id capacity load } workerGroups { name } }
}`;

export function ClustersPage() {
  const { data, error, reload } = useQuery(QUERY, {}, { refreshMs: 5000 });
  if (!data) return error ? html`<${ErrorBox} error=${error} onRetry=${reload} />` : html`<${Loading} what="Reading clusters" />`;
  const clusters = [...data.clusters].sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.slug.localeCompare(b.slug));
  return html`<div class="page">
    <${ErrorBox} error=${error} />
    <${Section} title=${`Clusters (${clusters.length})`} id="clusters-title">
      ${clusters.length === 0 ? html`<${Empty}>No clusters.</${Empty}>` : html`<table class="table" aria-labelledby="clusters-title">
        <thead><tr><th scope="col">Slug</th><th scope="col">Description</th><th scope="col">Runners</th><th scope="col">Slots busy</th>
          <th scope="col">Worker groups</th><th scope="col">Runs</th><th scope="col">Created</th></tr></thead>
        <tbody>${clusters.map((c) => {
          const capacity = c.runners.reduce((sum, r) => sum + r.capacity, 0);
          const load = c.runners.reduce((sum, r) => sum + r.load, 0);
          return html`<tr data-cluster=${c.slug}>
            <td><a href=${href('/runners', { cluster: c.slug })}><code>${c.slug}</code></a>${c.isDefault && html` <span class="tag">default</span>`}</td>
            <td>${c.description ?? html`<span class="muted">—</span>`}</td>
            <td class="num">${c.runners.length}</td>
            <td class="num">${load} / ${capacity}</td>
            <td>${c.workerGroups.map((g) => g.name).join(', ') || html`<span class="muted">—</span>`}</td>
            <td><a href=${href('/runs', { cluster: c.slug })}><${CountChips} counts=${c.counts} empty="no runs" /></a></td>
            <td><${Time} iso=${c.createdAt} /></td>
          </tr>`;
        })}</tbody>
      </table>`}
    </${Section}>
  </div>`;
}
