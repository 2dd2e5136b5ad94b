import { useEffect, useRef, useState } from 'preact/hooks';
import { gql } from '../api.js';
import { CountChips, Empty, ErrorBox, Loading, Section, StatusChip, Time, useQuery, useSubscription } from '../components.js';
import { COUNT_FIELDS, enumLabel, shortId } from '../format.js';
import { html } from '../html.js';
import { JobGraph } from '../job-graph.js';
import { runHref } from '../router.js';

/**
 * A job: its status and progress, its runs as a graph (parent → child, dependsOn, revert) and as
 * a list, and cancel / retry. Runs of the job follow the live stream (`taskUpdated(jobId)`): a
 * known run changes colour at once, and the job (status, progress, new runs) is re-read shortly
 * after, once per burst of changes.
 */

const GRAPH_LIMIT = 500;
const REREAD_AFTER_MS = 400;

/** Fields of each run the graph and list need (the edge fields are read by jobEdges). */
const JOB_RUN_FIELDS = 'id name step status blocked createdAt finishedAt dependsOn revertOfId parent { id }';

const QUERY = `query Job($id: ID!, $first: Int) {
  job(id: $id) {
    id status firstStartedAt lastFinishedAt
    progress { ${COUNT_FIELDS} }
    root { id name status }
    shard { name }
    runs(first: $first) { nodes { ${JOB_RUN_FIELDS} } pageInfo { hasNextPage } }
  }
}`;

const LIVE = 'subscription JobLive($jobId: ID!) { taskUpdated(jobId: $jobId) { id status blocked finishedAt } }';
const CANCEL = 'mutation CancelJob($id: ID!) { job { cancel(id: $id) { id } } }';
const RETRY = 'mutation RetryJob($id: ID!) { job { retry(id: $id) { id } } }';

/** Job statuses drawn with the run status colours they resemble. */
const JOB_STATUS_LOOK = { SUBMITTED: 'pending', RUNNING: 'running', COMPLETED: 'completed', FAILED: 'failed', CANCELLED: 'stopped' };

function JobStatusChip({ status }) {
  if (!status) return null;
  return html`<span class=${`chip st-${JOB_STATUS_LOOK[status] ?? 'pending'}`}>${enumLabel(status)}</span>`;
}

export function JobPage({ id }) {
  const { data, error, reload, setData } = useQuery(QUERY, { id, first: GRAPH_LIMIT });
  const [actionError, setActionError] = useState(null);
  const [busy, setBusy] = useState(false);
  const reread = useRef(null);
  useEffect(() => () => clearTimeout(reread.current), []);

  useSubscription(LIVE, { jobId: id }, {
    onData: ({ taskUpdated: change }) => {
      setData((current) =>
        current?.job
          ? { ...current, job: { ...current.job, runs: { ...current.job.runs, nodes: current.job.runs.nodes.map((r) => (r.id === change.id ? { ...r, ...change } : r)) } } }
          : current,
      );
      clearTimeout(reread.current);
      reread.current = setTimeout(reload, REREAD_AFTER_MS);
    },
    onOpen: reload,
  });

  async function act(mutation) {
    setBusy(true);
    setActionError(null);
    try {
      await gql(mutation, { id });
      reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
    }
  }

  if (!data) return error ? html`<${ErrorBox} error=${error} onRetry=${reload} />` : html`<${Loading} what="Reading the job" />`;
  const job = data.job;
  if (!job) return html`<div class="page"><${Empty}>No run of job <code>${id}</code> exists (it may have been forgotten or trimmed).</${Empty}></div>`;
  const runs = job.runs.nodes;
  const live = job.status === 'SUBMITTED' || job.status === 'RUNNING';
  const retryable = job.status === 'FAILED' || job.status === 'CANCELLED';
  return html`<div class="page">
    <div class="page-head">
      <h1><span class="muted">Job</span> ${job.root ? job.root.name : shortId(job.id)} <${JobStatusChip} status=${job.status} /></h1>
      <span class="actions">
        ${live && html`<button type="button" class="btn small danger" disabled=${busy} onClick=${() => act(CANCEL)}>Cancel job</button>`}
        ${retryable && html`<button type="button" class="btn small" disabled=${busy} onClick=${() => act(RETRY)}>Retry job</button>`}
      </span>
    </div>
    <${ErrorBox} error=${actionError ?? error} />
    <p class="muted job-summary">
      shard ${job.shard.name} · started <${Time} iso=${job.firstStartedAt} /> · finished <${Time} iso=${job.lastFinishedAt} /> ·
      <${CountChips} counts=${job.progress} empty="no runs" />
    </p>
    ${job.runs.pageInfo.hasNextPage && html`<div class="warning" role="status">This job has more than ${GRAPH_LIMIT} runs; the newest ${GRAPH_LIMIT} are shown.</div>`}
    <${Section} title="Graph" id="job-graph-title">${runs.length === 0 ? html`<${Empty}>No runs.</${Empty}>` : html`<${JobGraph} runs=${runs} />`}</${Section}>
    <${Section} title=${`Runs (${runs.length})`} id="job-runs-title">
      <table class="table" aria-labelledby="job-runs-title">
        <thead><tr><th scope="col">ID</th><th scope="col">Name</th><th scope="col">Step</th><th scope="col">Parent</th><th scope="col">Depends on</th>
          <th scope="col">Created</th><th scope="col">Finished</th><th scope="col">Status</th></tr></thead>
        <tbody>${runs.map(
          (run) => html`<tr key=${run.id} data-run=${run.id} data-status=${run.status}>
            <td><a href=${runHref(run.id)}><code>${shortId(run.id)}</code></a>${run.id === job.id && html` <span class="tag">root</span>`}</td>
            <td>${run.name}</td>
            <td>${run.step ?? html`<span class="muted">—</span>`}</td>
            <td>${run.parent ? html`<a href=${runHref(run.parent.id)}><code>${shortId(run.parent.id)}</code></a>` : html`<span class="muted">—</span>`}</td>
            <td>${run.dependsOn.length === 0 ? html`<span class="muted">—</span>` : run.dependsOn.map((dep) => html`<a href=${runHref(dep)}><code>${shortId(dep)}</code></a> `)}</td>
            <td><${Time} iso=${run.createdAt} /></td><td><${Time} iso=${run.finishedAt} /></td>
            <td><${StatusChip} status=${run.status} />${run.blocked && html` <span class="tag" title="waits for its dependencies">blocked</span>`}</td>
          </tr>`,
        )}</tbody>
      </table>
    </${Section}>
  </div>`;
}
