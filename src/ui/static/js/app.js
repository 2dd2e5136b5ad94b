import { useEffect, useState } from 'preact/hooks';
import { getToken, onAuthChange, setToken } from './api.js';
import { useQuery } from './components.js';
import { html } from './html.js';
import { liveState, onLiveState } from './live.js';
import { LoginForm } from './login.js';
import { ClustersPage } from './pages/clusters.js';
import { DashboardPage } from './pages/dashboard.js';
import { DefinitionsPage } from './pages/definitions.js';
import { JobPage } from './pages/job.js';
import { NodesPage } from './pages/nodes.js';
import { RunPage } from './pages/run.js';
import { RunnersPage } from './pages/runners.js';
import { RunsPage } from './pages/runs.js';
import { ShardsPage } from './pages/shards.js';
import { useRoute } from './router.js';

/** The shell: header (node, embedded badge, live state, sign-in), navigation, and the screen the hash names. */

const NAV = [
  ['', 'Dashboard'],
  ['definitions', 'Definitions'],
  ['runs', 'Runs'],
  ['clusters', 'Clusters'],
  ['runners', 'Runners'],
  ['shards', 'Shards'],
  ['nodes', 'Nodes'],
];

const NODE_QUERY = 'query ThisNode { nodes { id listen storage coordination version } }';

function screen({ parts, params }) {
  const [section = '', id] = parts;
  if (section === 'runs' && id) return html`<${RunPage} key=${id} id=${id} />`;
  if (section === 'jobs' && id) return html`<${JobPage} key=${id} id=${id} />`;
  switch (section) {
    case '': return html`<${DashboardPage} />`;
    case 'definitions': return html`<${DefinitionsPage} />`;
    case 'runs': return html`<${RunsPage} params=${params} />`;
    case 'clusters': return html`<${ClustersPage} />`;
    case 'runners': return html`<${RunnersPage} params=${params} />`;
    case 'shards': return html`<${ShardsPage} />`;
    case 'nodes': return html`<${NodesPage} />`;
    default: return html`<p class="empty">No screen here. <a href="#/">Dashboard</a></p>`;
  }
}

/** The node serving this page: the one whose listen address is this page's host, else any (they share storage). */
function NodeBadge() {
  const { data } = useQuery(NODE_QUERY, {}, { refreshMs: 30_000 });
  const nodes = data?.nodes ?? [];
  const node = nodes.find((n) => n.listen === location.host) ?? nodes[0];
  if (!node) return null;
  const embedded = node.storage === 'embedded';
  return html`<span class="node-info">
    <span class="muted" title=${`node ${node.id}, Taskplane ${node.version}`}>${node.id}</span>
    ${embedded
      ? html`<span class="badge embedded" data-testid="embedded-badge"
          title="Embedded mode: in-process storage and coordination on a single node; runs live in this process's memory.">embedded</span>`
      : html`<span class="badge" title=${`coordination: ${node.coordination}`}>${node.storage}</span>`}
  </span>`;
}

function LiveIndicator() {
  const [state, setState] = useState(liveState());
  useEffect(() => onLiveState(setState), []);
  const text = { live: 'live', reconnecting: 'reconnecting…', failed: 'live updates off', idle: '' }[state];
  return text ? html`<span class=${`live ${state}`} role="status" aria-live="polite">${text}</span>` : null;
}

export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState({ needed: false, generation: 0 });
  useEffect(
    () => onAuthChange(({ needed }) => setAuth((a) => (needed ? { ...a, needed: true } : { needed: false, generation: a.generation + 1 }))),
    [],
  );
  const section = route.parts[0] ?? '';
  const signedIn = getToken() !== '';
  return html`<div class="shell">
    <header class="topbar">
      <a class="brand" href="#/">Taskplane</a>
      <nav aria-label="Screens">
        ${NAV.map(([path, label]) => html`<a href=${`#/${path}`} aria-current=${section === path || (path === 'runs' && section === 'jobs') ? 'page' : undefined}>${label}</a>`)}
      </nav>
      <span class="spacer"></span>
      <${LiveIndicator} />
      <${NodeBadge} key=${auth.generation} />
      ${signedIn && html`<button type="button" class="btn small" onClick=${() => setToken('')}>Sign out</button>`}
      <a class="muted" href="/graphql" target="_blank" rel="noopener">GraphiQL</a>
    </header>
    <main id="main" key=${auth.generation}>${auth.needed ? html`<${LoginForm} rejected=${signedIn} />` : screen(route)}</main>
  </div>`;
}
