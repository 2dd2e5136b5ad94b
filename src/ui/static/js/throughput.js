import { useEffect, useRef, useState } from 'preact/hooks';
import { gql } from './api.js';
import { COUNT_FIELDS } from './format.js';
import { html } from './html.js';

/**
 * Statistics sampled every 2 s while the UI is open, and the throughput chart drawn from them.
 *
 * Throughput is the growth of the finished counts between two samples, divided by the time
 * between them (so a tab the browser throttled in the background still plots rates, not lumps).
 * Counts also shrink — a storage node trims each task's finished history to task_log_max_size,
 * an operator forgets or retries runs — so a negative growth is drawn as zero: a busy system
 * with trimming shows a dip every trim interval rather than a negative rate. The samples live in
 * this module, so leaving the dashboard and coming back keeps the last minutes; sampling stops
 * once no dashboard has been shown for five minutes.
 */

export const SAMPLE_MS = 2000;
const KEEP_MS = 10 * 60_000;
const WINDOW_MS = 5 * 60_000;

const QUERY = `query Statistics {
  statistics { ${COUNT_FIELDS} unavailableShards
    byCluster { key counts { ${COUNT_FIELDS} } }
    byName { key counts { ${COUNT_FIELDS} } } }
}`;

const samples = [];
const listeners = new Set();
let lastError = null;
let timer = null;
let lastDetachedAt = 0;

async function sample() {
  // Nobody has looked for a whole window: stop asking the server; the next look starts again.
  if (listeners.size === 0 && Date.now() - lastDetachedAt > WINDOW_MS) {
    timer = null;
    return;
  }
  try {
    const { statistics } = await gql(QUERY);
    samples.push({ at: Date.now(), statistics });
    while (samples.length > 0 && samples[0].at < Date.now() - KEEP_MS) samples.shift();
    lastError = null;
  } catch (error) {
    lastError = error;
  }
  listeners.forEach((listener) => listener());
  timer = setTimeout(sample, SAMPLE_MS);
}

/** The latest statistics, the samples and the last error, re-rendering on every sample. */
export function useStatistics() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const listener = () => setTick((t) => t + 1);
    listeners.add(listener);
    if (timer === null) void sample();
    return () => {
      listeners.delete(listener);
      lastDetachedAt = Date.now();
    };
  }, []);
  return { latest: samples.at(-1)?.statistics ?? null, samples, error: lastError };
}

const finished = (c) => ({
  completed: c.completed,
  failed: c.failed + c.lost,
  other: c.stopped + c.didNotStart + c.unknownTask,
});

/** Per-interval rates (runs per second) between consecutive samples. */
export function rates(list) {
  const out = [];
  for (let i = 1; i < list.length; i++) {
    const a = finished(list[i - 1].statistics);
    const b = finished(list[i].statistics);
    const seconds = (list[i].at - list[i - 1].at) / 1000;
    if (seconds <= 0) continue;
    const rate = (key) => Math.max(0, b[key] - a[key]) / seconds;
    out.push({ from: list[i - 1].at, at: list[i].at, completed: rate('completed'), failed: rate('failed'), other: rate('other') });
  }
  return out;
}

function niceCeiling(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= value) ?? 10 * power;
}

const H = 180;
const PAD = { left: 40, right: 8, top: 10, bottom: 22 };

/** The element's width in CSS pixels, so the chart is drawn at its real size (text keeps its size). */
function useWidth(fallback) {
  const ref = useRef(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(200, Math.floor(entry.contentRect.width))));
    observer.observe(ref.current);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** Stacked bars of finished runs per second over the last five minutes, as inline SVG. */
export function ThroughputChart({ samples: list }) {
  const [ref, W] = useWidth(640);
  const now = list.at(-1)?.at ?? Date.now();
  const points = rates(list).filter((p) => p.at > now - WINDOW_MS);
  const max = niceCeiling(Math.max(0, ...points.map((p) => p.completed + p.failed + p.other)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (t) => PAD.left + plotW * (1 - (now - t) / WINDOW_MS);
  const y = (v) => PAD.top + plotH * (1 - v / max);
  const lastMinute = points.filter((p) => p.at > now - 60_000);
  const perMinute = (key) => Math.round(lastMinute.reduce((sum, p) => sum + p[key] * ((p.at - p.from) / 1000), 0));
  const summary = `Last minute: ${perMinute('completed')} completed, ${perMinute('failed')} failed or lost, ${perMinute('other')} other`;

  const bars = points.flatMap((p) => {
    const left = Math.max(PAD.left, x(p.from));
    const width = Math.max(1, x(p.at) - left - 1);
    let base = 0;
    return ['completed', 'failed', 'other']
      .filter((key) => p[key] > 0)
      .map((key) => {
        const top = y(base + p[key]);
        const height = y(base) - top;
        base += p[key];
        return html`<rect class=${`bar ${key}`} x=${left.toFixed(1)} y=${top.toFixed(1)} width=${width.toFixed(1)} height=${Math.max(0.5, height).toFixed(1)}>
          <title>${`${new Date(p.at).toLocaleTimeString()}: ${p[key].toFixed(2)}/s ${key}`}</title></rect>`;
      });
  });
  const grid = [0, max / 2, max].map(
    (v) => html`<g><line class="grid" x1=${PAD.left} x2=${W - PAD.right} y1=${y(v)} y2=${y(v)} />
      <text class="axis" x=${PAD.left - 4} y=${y(v) + 3} text-anchor="end">${Number.isInteger(v) ? v : v.toFixed(1)}</text></g>`,
  );
  const ticks = [5, 4, 3, 2, 1, 0].map(
    (m) => html`<text class="axis" x=${x(now - m * 60_000)} y=${H - 6} text-anchor=${m === 0 ? 'end' : 'middle'}>${m === 0 ? 'now' : `−${m} min`}</text>`,
  );
  return html`<figure class="chart" ref=${ref}>
    <svg width=${W} height=${H} viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`Finished runs per second, last 5 minutes. ${summary}.`}>
      ${grid}${bars}${ticks}
    </svg>
    <figcaption>
      <span class="legend completed">completed</span><span class="legend failed">failed / lost</span><span class="legend other">stopped / did not start / unknown</span>
      <span class="muted">runs finished per second · ${summary}${points.length === 0 ? ' · collecting samples…' : ''}</span>
    </figcaption>
  </figure>`;
}
