import { useState } from 'preact/hooks';
import { Empty, ErrorBox, Loading, Section, StatusChip, Time, useQuery, useSubscription } from '../components.js';
import { enumLabel, jsonPreview, shortId, statusLabel, STATUSES } from '../format.js';
import { html } from '../html.js';
import { RunActions } from '../run-actions.js';
import { href, replaceHash, runHref } from '../router.js';

/**
 * The runs table: newest first across all shards, filtered by status, name and cluster (kept in
 * the hash, so a filtered view is a link), paged with the API's cursors.
 *
 * Rows follow the live stream: a run on the page changes in place, and on the first page a new
 * run that matches the filters is added on top. The page grows up to MAX_LIVE_ROWS rather than
 * dropping its last row, because the next page's cursor points after that row; beyond that a
 * banner offers a refresh instead.
 */

const MAX_LIVE_ROWS = 500;
const PAGE_SIZES = [25, 50, 100];

export const RUN_ROW = `fragment RunRow on Task {
  id name kind cluster status attempt maxAttempts createdAt startedAt finishedAt result error stopRequested
  definition { schedule }
}`;

const QUERY = `query Runs($filter: TaskFilter, $first: Int, $after: String) {
  tasks(filter: $filter, first: $first, after: $after) { nodes { ...RunRow } pageInfo { hasNextPage endCursor } unavailableShards }
  clusters { slug name }
}
${RUN_ROW}`;

const LIVE = `subscription RunsLive($name: String) { taskUpdated(name: $name) { ...RunRow } }
${RUN_ROW}`;

function filtersFrom(params) {
  return {
    status: params.get('status') ?? '',
    name: params.get('name') ?? '',
    cluster: params.get('cluster') ?? '',
    after: params.get('after') ?? '',
    size: PAGE_SIZES.includes(Number(params.get('size'))) ? Number(params.get('size')) : PAGE_SIZES[0],
  };
}

function matches(run, f) {
  return (!f.status || run.status === f.status) && (!f.name || run.name === f.name) && (!f.cluster || run.cluster === f.cluster);
}

/** The result of a completed run; otherwise the last attempt's error, if any (a run that completed on a retry may keep one). */
function Outcome({ run }) {
  if (run.status !== 'COMPLETED' && run.error) return html`<span class="error-text" title=${run.error}>${jsonPreview(run.error, 60)}</span>`;
  if (run.result === null || run.result === undefined) return html`<span class="muted">—</span>`;
  return html`<code class="payload" title=${jsonPreview(run.result, 2000)}>${jsonPreview(run.result, 60)}</code>`;
}

export function RunsPage({ params }) {
  const f = filtersFrom(params);
  const filter = { ...(f.status ? { status: [f.status] } : {}), ...(f.name ? { name: f.name } : {}), ...(f.cluster ? { cluster: f.cluster } : {}) };
  const { data, error, reload, setData, invalidate } = useQuery(QUERY, { filter, first: f.size, after: f.after || null });
  const [actionError, setActionError] = useState(null);
  const [missed, setMissed] = useState(0);
  const [history, setHistory] = useState([]);
  const [nameInput, setNameInput] = useState(f.name);

  useSubscription(LIVE, f.name ? { name: f.name } : {}, {
    onData: ({ taskUpdated: run }) => {
      invalidate();
      setData((current) => {
        if (!current) return current;
        const rows = current.tasks.nodes;
        const index = rows.findIndex((r) => r.id === run.id);
        if (index >= 0) return withRows(current, rows.map((r, i) => (i === index ? { ...r, ...run } : r)));
        const isNewest = rows.length === 0 || new Date(run.createdAt) >= new Date(rows[0].createdAt);
        if (f.after || !isNewest || !matches(run, f)) return current;
        if (rows.length >= MAX_LIVE_ROWS) {
          setMissed((n) => n + 1);
          return current;
        }
        return withRows(current, [run, ...rows]);
      });
    },
    onOpen: reload,
  });

  const go = (changes) => replaceHash(href('/runs', { ...f, size: f.size === PAGE_SIZES[0] ? '' : f.size, after: '', ...changes }));
  const setFilter = (changes) => {
    setHistory([]);
    setMissed(0);
    go(changes);
  };
  const next = () => {
    setHistory([...history, f.after]);
    go({ after: data.tasks.pageInfo.endCursor });
  };
  const previous = () => {
    const back = history.slice(0, -1);
    const after = history.at(-1) ?? '';
    setHistory(back);
    go({ after });
  };

  const rows = data?.tasks.nodes ?? [];
  const clusters = data?.clusters ?? [];
  // After a reload on a later page the way back is not known: Newer then goes to the first page.
  const page = f.after ? (history.length > 0 ? history.length + 1 : null) : 1;
  return html`<div class="page">
    <form class="filters" role="search" aria-label="Filter runs" onSubmit=${(e) => (e.preventDefault(), setFilter({ name: nameInput.trim() }))}>
      <label>Status
        <select value=${f.status} onChange=${(e) => setFilter({ status: e.currentTarget.value })}>
          <option value="">any</option>
          ${STATUSES.map((s) => html`<option value=${s.value}>${s.label}</option>`)}
        </select>
      </label>
      <label>Name
        <input type="search" value=${nameInput} placeholder="task name" onInput=${(e) => setNameInput(e.currentTarget.value)}
          onBlur=${() => nameInput.trim() !== f.name && setFilter({ name: nameInput.trim() })} />
      </label>
      <label>Cluster
        <select value=${f.cluster} onChange=${(e) => setFilter({ cluster: e.currentTarget.value })}>
          <option value="">any</option>
          ${clusters.map((c) => html`<option value=${c.slug}>${c.slug}</option>`)}
          ${f.cluster && !clusters.some((c) => c.slug === f.cluster) && html`<option value=${f.cluster}>${f.cluster}</option>`}
        </select>
      </label>
      <label>Per page
        <select value=${String(f.size)} onChange=${(e) => setFilter({ size: Number(e.currentTarget.value) })}>
          ${PAGE_SIZES.map((n) => html`<option value=${String(n)}>${n}</option>`)}
        </select>
      </label>
      <button type="submit" class="btn">Apply</button>
      ${(f.status || f.name || f.cluster) && html`<button type="button" class="btn link" onClick=${() => (setNameInput(''), setFilter({ status: '', name: '', cluster: '' }))}>Clear filters</button>`}
    </form>
    <${ErrorBox} error=${actionError ?? error} onRetry=${actionError ? null : reload} />
    ${data?.tasks.unavailableShards.length > 0 &&
    html`<div class="warning" role="status">Shards not answering: ${data.tasks.unavailableShards.join(', ')}. Their runs are missing from this page.</div>`}
    ${missed > 0 && html`<div class="notice" role="status">${missed} newer run${missed > 1 ? 's' : ''} not shown. <button type="button" class="link" onClick=${() => (setMissed(0), reload())}>Refresh</button></div>`}
    <${Section} title=${`Runs${f.status ? ` · ${statusLabel(f.status)}` : ''}${f.name ? ` · ${f.name}` : ''}${f.cluster ? ` · ${f.cluster}` : ''}`} id="runs-title">
      ${!data ? html`<${Loading} what="Reading runs" />` : rows.length === 0 ? html`<${Empty}>No runs match.</${Empty}>` : html`<table class="table runs" aria-labelledby="runs-title">
        <thead><tr>
          <th scope="col">ID</th><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Schedule</th><th scope="col">Started</th>
          <th scope="col">Finished</th><th scope="col">Status</th><th scope="col">Result</th><th scope="col">Action</th>
        </tr></thead>
        <tbody>${rows.map(
          (run) => html`<tr key=${run.id} data-run=${run.id} data-status=${run.status}>
            <td><a href=${runHref(run.id)} title=${run.id}><code>${shortId(run.id)}</code></a></td>
            <td>${run.name}${run.cluster !== 'default' && html` <span class="tag" title="cluster">${run.cluster}</span>`}</td>
            <td>${enumLabel(run.kind)}</td>
            <td>${run.definition?.schedule ? html`<code>${run.definition.schedule}</code>` : html`<span class="muted">—</span>`}</td>
            <td><${Time} iso=${run.startedAt} /></td>
            <td><${Time} iso=${run.finishedAt} /></td>
            <td><${StatusChip} status=${run.status} />${run.maxAttempts > 1 && html` <span class="muted" title="attempt">${run.attempt}/${run.maxAttempts}</span>`}</td>
            <td><${Outcome} run=${run} /></td>
            <td><${RunActions} run=${run} onError=${setActionError}
              onDone=${(action) => (setActionError(null), action === 'forget' && setData((c) => withRows(c, c.tasks.nodes.filter((r) => r.id !== run.id))))} /></td>
          </tr>`,
        )}</tbody>
      </table>`}
      <nav class="pager" aria-label="Pages">
        <button type="button" class="btn small" disabled=${!f.after} onClick=${previous}>← Newer</button>
        <span class="muted">${page ? `page ${page}` : 'older runs'}</span>
        <button type="button" class="btn small" disabled=${!data?.tasks.pageInfo.hasNextPage} onClick=${next}>Older →</button>
      </nav>
    </${Section}>
  </div>`;
}

function withRows(current, nodes) {
  return { ...current, tasks: { ...current.tasks, nodes } };
}
