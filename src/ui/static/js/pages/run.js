import { useState } from 'preact/hooks';
import { Empty, ErrorBox, Fields, Loading, Section, StatusChip, Time, useQuery, useSubscription } from '../components.js';
import { duration, enumLabel, FINAL, jsonPretty, shortId } from '../format.js';
import { html } from '../html.js';
import { RunActions } from '../run-actions.js';
import { href, jobHref, runHref } from '../router.js';

/**
 * One run: its fields, why it is where it is (reason, waiting reason), args, result and error,
 * the attempt history, its runner, parent, children and job. The page follows the run's own
 * live stream (`taskUpdated(id)`), which carries the same fields, so it changes without reload.
 */

const RUN_DETAIL = `fragment RunDetail on Task {
  id name funcName kind status attempt maxAttempts cluster tag priority args result error reason waitingReason
  createdAt runAfter startedAt finishedAt deadline expiresAt stopRequested timeToResolve timeout delay delayFactor
  runnerId runner { id node group state }
  jobId parent { id name status } step blocked revertOfId inputs dependencies { id name step status }
  shard { name }
  definition { name schedule }
  history { attempt runner startedAt finishedAt outcome error }
  children(first: 20) { nodes { id name status } pageInfo { hasNextPage } }
}`;

const QUERY = `query Run($id: ID!) { task(id: $id) { ...RunDetail } }
${RUN_DETAIL}`;
const LIVE = `subscription RunLive($id: ID!) { taskUpdated(id: $id) { ...RunDetail } }
${RUN_DETAIL}`;

function Payload({ value, label }) {
  if (value === null || value === undefined) return html`<p class="muted">No ${label}.</p>`;
  return html`<pre class="json" aria-label=${label}>${jsonPretty(value)}</pre>`;
}

function Attempts({ history }) {
  if (history.length === 0) return html`<${Empty}>No attempt has ended yet.</${Empty}>`;
  return html`<table class="table" aria-label="Attempts">
    <thead><tr><th scope="col">#</th><th scope="col">Runner</th><th scope="col">Started</th><th scope="col">Finished</th>
      <th scope="col">Took</th><th scope="col">Outcome</th><th scope="col">Error</th></tr></thead>
    <tbody>${history.map(
      (a) => html`<tr data-attempt=${a.attempt}>
        <td>${a.attempt}</td><td><code>${a.runner}</code></td>
        <td><${Time} iso=${a.startedAt} /></td><td><${Time} iso=${a.finishedAt} /></td>
        <td>${duration(a.startedAt, a.finishedAt)}</td>
        <td><${StatusChip} status=${a.outcome} /></td>
        <td>${a.error ? html`<span class="error-text">${a.error}</span>` : html`<span class="muted">—</span>`}</td>
      </tr>`,
    )}</tbody>
  </table>`;
}

export function RunPage({ id }) {
  const { data, error, reload, setData, invalidate } = useQuery(QUERY, { id });
  const [actionError, setActionError] = useState(null);
  useSubscription(LIVE, { id }, {
    onData: ({ taskUpdated }) => {
      invalidate();
      setData((current) => ({ ...current, task: taskUpdated }));
    },
    onOpen: reload,
  });

  if (!data) return error ? html`<${ErrorBox} error=${error} onRetry=${reload} />` : html`<${Loading} what="Reading the run" />`;
  const run = data.task;
  if (!run) {
    return html`<div class="page"><${Empty}>Run <code>${id}</code> does not exist: it was never created, or was forgotten or trimmed.
      <a href=${href('/runs')}>All runs</a></${Empty}></div>`;
  }
  const isRoot = run.jobId === run.id;
  return html`<div class="page">
    <div class="page-head">
      <h1><span class="muted">Run</span> ${run.name} <${StatusChip} status=${run.status} /></h1>
      <${RunActions} run=${run} onError=${setActionError} onDone=${(action) => (setActionError(null), action === 'forget' ? (location.hash = href('/runs')) : reload())} />
    </div>
    <${ErrorBox} error=${actionError ?? error} />
    ${run.reason && html`<div class="notice" role="status"><strong>Reason:</strong> ${run.reason}</div>`}
    ${run.waitingReason && html`<div class="warning" role="status"><strong>Waiting:</strong> ${run.waitingReason}</div>`}
    ${run.blocked && !run.waitingReason && html`<div class="warning" role="status"><strong>Blocked:</strong> a run it depends on has not completed yet.</div>`}
    <div class="two-columns">
      <${Section} title="Run" id="run-fields">
        <${Fields} rows=${[
          ['ID', html`<code>${run.id}</code>`],
          ['Task', run.definition ? html`<a href=${href('/runs', { name: run.name })}>${run.name}</a>` : run.name],
          ['Kind', enumLabel(run.kind)],
          ['Handler', html`<code>${run.funcName}</code>`],
          run.definition?.schedule && ['Schedule', html`<code>${run.definition.schedule}</code>`],
          ['Attempt', `${run.attempt} of ${run.maxAttempts}`],
          ['Cluster', html`<a href=${href('/runs', { cluster: run.cluster })}>${run.cluster}</a>`],
          ['Tag', run.tag],
          ['Priority', run.priority],
          ['Job', isRoot ? html`<a href=${jobHref(run.jobId)}>this run's job</a>` : html`<a href=${jobHref(run.jobId)}><code>${shortId(run.jobId)}</code></a>`],
          run.parent && ['Parent', html`<a href=${runHref(run.parent.id)}>${run.parent.name}</a> <${StatusChip} status=${run.parent.status} />`],
          run.step && ['Step', run.step],
          run.dependencies.length > 0 && ['Depends on', html`<span class="deps">${run.dependencies.map((dep) =>
            dep ? html`<span><a href=${runHref(dep.id)}>${dep.step ?? dep.name}</a> <${StatusChip} status=${dep.status} /></span>` : html`<span class="muted">(gone)</span>`)}</span>`],
          run.revertOfId && ['Reverts', html`<a href=${runHref(run.revertOfId)}><code>${shortId(run.revertOfId)}</code></a>`],
          ['Shard', run.shard.name],
        ]} />
      </${Section}>
      <${Section} title="Timing and runner" id="run-timing">
        <${Fields} rows=${[
          ['Created', html`<${Time} iso=${run.createdAt} />`],
          ['Not before', html`<${Time} iso=${run.runAfter} />`],
          ['Started', html`<${Time} iso=${run.startedAt} />`],
          ['Finished', html`<${Time} iso=${run.finishedAt} />`],
          run.startedAt && ['Took', duration(run.startedAt, run.finishedAt) + (run.finishedAt ? '' : ' so far')],
          run.deadline && ['Lease until', html`<${Time} iso=${run.deadline} />`],
          ['Expires if pending', html`<${Time} iso=${run.expiresAt} />`],
          ['Runner', run.runnerId
            ? html`<code>${run.runnerId}</code> ${run.runner ? html`<span class="muted">(node ${run.runner.node}, group ${run.runner.group}, ${enumLabel(run.runner.state)})</span>` : html`<span class="muted">(not live)</span>`}`
            : ''],
          run.stopRequested && !FINAL.has(run.status) && ['Stop', 'requested'],
          ['Lease', `${run.timeToResolve} s without renewal`],
          run.maxAttempts > 1 && ['Retry after', `${run.delay} s × ${run.delayFactor}^(attempt−1)`],
        ]} />
      </${Section}>
    </div>
    ${run.error && html`<${Section} title=${run.status === 'COMPLETED' ? 'Error of an earlier attempt' : 'Error'} id="run-error"><pre class="json error-text">${run.error}</pre></${Section}>`}
    <div class="two-columns">
      <${Section} title="Args" id="run-args"><${Payload} value=${run.args} label="args" /></${Section}>
      <${Section} title="Result" id="run-result"><${Payload} value=${run.result} label="result" /></${Section}>
    </div>
    ${run.inputs != null && Object.keys(run.inputs).length > 0 &&
    html`<${Section} title="Inputs (results of its dependencies)" id="run-inputs"><${Payload} value=${run.inputs} label="inputs" /></${Section}>`}
    <${Section} title=${`Attempts (${run.history.length})`} id="run-attempts"><${Attempts} history=${run.history} /></${Section}>
    ${run.children.nodes.length > 0 &&
    html`<${Section} title="Spawned runs" id="run-children">
      <ul class="plain">${run.children.nodes.map((c) => html`<li><a href=${runHref(c.id)}>${c.name}</a> <${StatusChip} status=${c.status} /></li>`)}</ul>
      ${run.children.pageInfo.hasNextPage && html`<a href=${jobHref(run.jobId)}>All runs of this job →</a>`}
    </${Section}>`}
  </div>`;
}
