import { useState } from 'preact/hooks';
import { gql } from '../api.js';
import { CountChips, Empty, ErrorBox, Loading, Section, StatusChip, Time, useQuery, useSubscription } from '../components.js';
import { COUNT_FIELDS, enumLabel, shortId } from '../format.js';
import { html } from '../html.js';
import { href, runHref } from '../router.js';

/**
 * Task definitions with kind, schedule, next fire and the last run's status, and a Start button
 * (`task { start(name) }`). The last run follows the live stream, so a started run is seen
 * reaching its end here without a reload; counts and next fire times are re-read every 5 s.
 */

const QUERY = `query Definitions {
  taskDefinitions {
    name kind funcName schedule nextFireAt pauseSec cluster tag source
    counts { ${COUNT_FIELDS} }
    lastRun { id status createdAt finishedAt }
  }
}`;

const UPDATES = 'subscription DefinitionRuns { taskUpdated { id name status createdAt finishedAt } }';
const START = 'mutation Start($name: String!) { task { start(name: $name) } }';

function schedule(definition) {
  if (definition.kind === 'PERIODICAL') return html`<code>${definition.schedule}</code>`;
  if (definition.kind === 'CONTINUOUS') return html`<span>every run, ${definition.pauseSec} s apart</span>`;
  return html`<span class="muted">on demand</span>`;
}

export function DefinitionsPage() {
  const { data, error, loading, reload, setData, invalidate } = useQuery(QUERY, {}, { refreshMs: 5000 });
  const [notice, setNotice] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [starting, setStarting] = useState(null);

  useSubscription(UPDATES, {}, {
    onData: ({ taskUpdated: run }) => {
      invalidate();
      setData((current) => {
        if (!current) return current;
        const taskDefinitions = current.taskDefinitions.map((d) => {
          if (d.name !== run.name) return d;
          const last = d.lastRun;
          const newer = !last || last.id === run.id || new Date(run.createdAt) >= new Date(last.createdAt);
          return newer ? { ...d, lastRun: { ...last, ...run } } : d;
        });
        return { ...current, taskDefinitions };
      });
    },
    onOpen: reload,
  });

  async function start(name) {
    setStarting(name);
    setActionError(null);
    try {
      const { task } = await gql(START, { name });
      setNotice({ name, id: task.start });
    } catch (error) {
      setActionError(error);
    } finally {
      setStarting(null);
    }
  }

  if (!data) return error ? html`<${ErrorBox} error=${error} onRetry=${reload} />` : html`<${Loading} what="Reading task definitions" />`;
  const definitions = [...data.taskDefinitions].sort((a, b) => a.name.localeCompare(b.name));
  return html`<div class="page">
    <${ErrorBox} error=${actionError ?? error} />
    ${notice &&
    html`<div class="notice" role="status">Started <strong>${notice.name}</strong>: run <a href=${runHref(notice.id)}>${shortId(notice.id)}</a>.</div>`}
    <${Section} title=${`Task definitions (${definitions.length})`} id="definitions-title" actions=${loading && html`<span class="muted">refreshing…</span>`}>
      ${definitions.length === 0
        ? html`<${Empty}>No task definitions. Add them under <code>tasks:</code> in the config, or with <code>task { define }</code>.</${Empty}>`
        : html`<table class="table" aria-labelledby="definitions-title">
          <thead><tr>
            <th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Handler</th><th scope="col">Schedule</th>
            <th scope="col">Next fire</th><th scope="col">Cluster</th><th scope="col">Last run</th><th scope="col">Runs</th><th scope="col">Action</th>
          </tr></thead>
          <tbody>${definitions.map(
            (d) => html`<tr data-definition=${d.name}>
              <td><a href=${href('/runs', { name: d.name })}>${d.name}</a>${d.source === 'API' && html` <span class="tag">api</span>`}</td>
              <td>${enumLabel(d.kind)}</td>
              <td><code>${d.funcName}</code></td>
              <td>${schedule(d)}</td>
              <td>${d.nextFireAt ? html`<${Time} iso=${d.nextFireAt} relative />` : html`<span class="muted">—</span>`}</td>
              <td>${d.cluster}${d.tag && html` <span class="tag">${d.tag}</span>`}</td>
              <td class="last-run">${d.lastRun
                ? html`<a href=${runHref(d.lastRun.id)} title=${d.lastRun.id}><${StatusChip} status=${d.lastRun.status} /></a>
                    <${Time} iso=${d.lastRun.finishedAt ?? d.lastRun.createdAt} relative />`
                : html`<span class="muted">never run</span>`}</td>
              <td><${CountChips} counts=${d.counts} /></td>
              <td><button type="button" class="btn small primary" disabled=${starting === d.name}
                  aria-label=${`Start ${d.name}`} onClick=${() => start(d.name)}>${starting === d.name ? 'Starting…' : 'Start'}</button></td>
            </tr>`,
          )}</tbody>
        </table>`}
    </${Section}>
  </div>`;
}
