import { shortId, statusLabel } from './format.js';
import { html } from './html.js';
import { runHref } from './router.js';

/**
 * A job's runs as a graph: one box per run, coloured by status, and an arrow for each edge.
 *
 * Layout is layered: a run's column is the length of the longest edge path that reaches it (so
 * an edge always points right), and runs within a column are ordered by creation. That is
 * enough for trees and small flows and needs no layout library.
 */

/**
 * The edges among `runs`: `{ from, to, kind }` by run id. Only edges whose two ends are both in
 * `runs` are kept (a page of a large job may miss some runs).
 *
 * Kinds: `parent` (a run spawned this one: solid), `dependsOn` (this one waits for that one to
 * complete: dashed), `revert` (this run undoes that step: dotted). A new kind is one line here,
 * its field in JOB_RUN_FIELDS (pages/job.js) and a stroke style in app.css.
 */
export function jobEdges(runs) {
  const ids = new Set(runs.map((r) => r.id));
  const edges = [];
  const add = (from, to, kind) => from && ids.has(from) && edges.push({ from, to, kind });
  for (const run of runs) {
    add(run.parent?.id, run.id, 'parent');
    for (const dep of run.dependsOn ?? []) add(dep, run.id, 'dependsOn');
    add(run.revertOfId, run.id, 'revert');
  }
  return edges;
}

const BOX_W = 168;
const BOX_H = 38;
const GAP_X = 56;
const GAP_Y = 14;
const MARGIN = 12;

/** Column (longest path from a source) and row of each run, and the drawing's size. */
export function layoutJob(runs, edges) {
  const incoming = new Map(runs.map((r) => [r.id, []]));
  for (const edge of edges) incoming.get(edge.to)?.push(edge.from);
  const depth = new Map();
  const depthOf = (id, seen = new Set()) => {
    if (depth.has(id)) return depth.get(id);
    // A cycle cannot come from the API (parents are older than children), but never loop on one.
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...(incoming.get(id) ?? []).map((from) => depthOf(from, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  const columns = [];
  const byAge = [...runs].sort((a, b) => new Date(a.createdAt) - new Date(b.createdAt) || a.id.localeCompare(b.id));
  for (const run of byAge) (columns[depthOf(run.id)] ??= []).push(run);
  const position = new Map();
  columns.forEach((column, c) =>
    column.forEach((run, r) => position.set(run.id, { x: MARGIN + c * (BOX_W + GAP_X), y: MARGIN + r * (BOX_H + GAP_Y) })),
  );
  const rows = Math.max(1, ...columns.map((column) => column.length));
  return {
    position,
    width: MARGIN * 2 + Math.max(1, columns.length) * (BOX_W + GAP_X) - GAP_X,
    // Room under the last row for edges that run below it.
    height: MARGIN * 2 + rows * (BOX_H + GAP_Y),
  };
}

export function JobGraph({ runs }) {
  const edges = jobEdges(runs);
  const { position, width, height } = layoutJob(runs, edges);
  const arrows = edges.map((edge) => {
    const a = position.get(edge.from);
    const b = position.get(edge.to);
    const x1 = a.x + BOX_W;
    const y1 = a.y + BOX_H / 2;
    const x2 = b.x;
    const y2 = b.y + BOX_H / 2;
    const half = GAP_X / 2;
    // An edge that skips columns would run through the boxes between: it goes along the gap
    // under the source's row instead, and turns up into its target.
    const d =
      x2 - x1 > GAP_X + 1
        ? `M${x1},${y1} C${x1 + half},${y1} ${x1 + half},${y1 + BOX_H / 2 + GAP_Y / 2} ${x1 + GAP_X},${y1 + BOX_H / 2 + GAP_Y / 2} ` +
          `L${x2 - GAP_X},${y1 + BOX_H / 2 + GAP_Y / 2} C${x2 - half},${y1 + BOX_H / 2 + GAP_Y / 2} ${x2 - half},${y2} ${x2},${y2}`
        : `M${x1},${y1} C${x1 + half},${y1} ${x2 - half},${y2} ${x2},${y2}`;
    return html`<path class=${`edge ${edge.kind}`} d=${d} marker-end="url(#arrow)" />`;
  });
  const boxes = runs.map((run) => {
    const { x, y } = position.get(run.id);
    // A flow step is known by its step name; other runs by their task name.
    const title = run.step ?? run.name;
    const label = title.length > 22 ? `${title.slice(0, 21)}…` : title;
    const status = run.blocked ? 'blocked' : statusLabel(run.status);
    return html`<a href=${runHref(run.id)} class="graph-node" aria-label=${`${title}, ${status}`} data-run=${run.id}>
      <title>${`${run.name} (${run.id})`}</title>
      <rect class=${`node-box st-${run.status.toLowerCase()}`} x=${x} y=${y} width=${BOX_W} height=${BOX_H} rx="5" />
      <text x=${x + 8} y=${y + 15} class="node-name">${label}</text>
      <text x=${x + 8} y=${y + 30} class="node-meta">${status} · ${shortId(run.id)}</text>
    </a>`;
  });
  return html`<div class="graph-scroll">
    <svg class="job-graph" width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} role="group" aria-label="Runs of this job and their links">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
        <path d="M0,0 L10,5 L0,10 z" class="arrow-head" /></marker></defs>
      ${arrows}${boxes}
    </svg>
    <p class="graph-legend muted"><span class="edge-key parent"></span>spawned <span class="edge-key dependsOn"></span>waits for <span class="edge-key revert"></span>reverts</p>
  </div>`;
}
