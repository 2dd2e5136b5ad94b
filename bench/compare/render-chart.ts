import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../test/services/project-root.js';
import type { SystemResult } from './compare-report.js';
import type { CompareSettings } from './settings.js';

/**
 * A hand-written SVG of the run: drain throughput per system, and create→start p50/p99 per
 * system. Both axes are logarithmic — the systems differ by three orders of magnitude here, and
 * on a linear axis the slow ones would not show. A percentile beyond the observation window is
 * drawn to the window's edge, hatched, and labelled `>N s`.
 */

const WIDTH = 820;
const LEFT = 190;
const RIGHT = 230;
const BAR = 16;
const GAP = 8;
const COLORS: Record<string, readonly [string, string]> = {
  'taskplane-3': ['#9ec5fe', '#0b5ed7'],
  'taskplane-1': ['#b6d4fe', '#3d8bfd'],
  bullmq: ['#f1aeb5', '#b02a37'],
  agenda: ['#a3cfbb', '#146c43'],
};

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en-US') : value >= 10 ? value.toFixed(0) : value.toFixed(1));

interface Bar {
  readonly label: string;
  readonly value: number | null;
  /** Drawn hatched to `value` (the window's length), labelled with this: the figure lies beyond what was observed. */
  readonly beyond?: string;
  readonly color: string;
}

function panel(title: string, unit: string, bars: readonly Bar[], top: number): { svg: string; height: number } {
  const values = bars.flatMap((bar) => (bar.value !== null && bar.value > 0 ? [bar.value] : []));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(0.1, Math.min(1, ...values)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(10, ...values) * 1.0001)));
  const span = WIDTH - LEFT - RIGHT;
  const x = (value: number) => LEFT + ((Math.log10(Math.max(value, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * span;
  const parts: string[] = [`<text x="${LEFT}" y="${top + 14}" class="title">${escape(title)}</text>`];
  const axisTop = top + 24;
  const height = bars.length * (BAR + GAP);
  for (let tick = lo; tick <= hi * 1.0001; tick *= 10) {
    parts.push(`<line x1="${x(tick)}" y1="${axisTop}" x2="${x(tick)}" y2="${axisTop + height}" class="grid"/>`);
    parts.push(`<text x="${x(tick)}" y="${axisTop + height + 14}" class="tick">${fmt(tick)}${unit === 'ms' ? ' ms' : ''}</text>`);
  }
  bars.forEach((bar, index) => {
    const y = axisTop + index * (BAR + GAP) + GAP / 2;
    parts.push(`<text x="${LEFT - 8}" y="${y + BAR - 4}" class="label">${escape(bar.label)}</text>`);
    if (bar.value === null) {
      parts.push(`<text x="${LEFT + 4}" y="${y + BAR - 4}" class="value">not measured</text>`);
      return;
    }
    const end = x(bar.value);
    const fill = bar.beyond ? 'url(#beyond)' : bar.color;
    parts.push(`<rect x="${LEFT}" y="${y}" width="${Math.max(1, end - LEFT)}" height="${BAR}" fill="${fill}" stroke="${bar.color}"/>`);
    parts.push(`<text x="${end + 6}" y="${y + BAR - 4}" class="value">${escape(bar.beyond ?? `${fmt(bar.value)} ${unit}`)}</text>`);
  });
  return { svg: parts.join('\n'), height: 24 + height + 24 };
}

export function renderChart(systems: readonly SystemResult[], settings: CompareSettings, caption: string): string {
  const throughput: Bar[] = systems.map((s) => ({ label: s.label, value: s.drain?.median.drainPerSecond ?? null, color: (COLORS[s.id] ?? ['#999', '#555'])[1] }));
  const latency: Bar[] = systems.flatMap((s) => {
    const summary = s.steady?.createToStartMs;
    const [light, dark] = COLORS[s.id] ?? ['#ccc', '#555'];
    const bar = (label: string, value: number | null | undefined, color: string): Bar => {
      if (!summary) return { label, value: null, color };
      if (value !== null && value !== undefined) return { label, value, color };
      return { label, value: summary.windowMs, color, beyond: `>${(summary.windowMs / 1000).toFixed(0)} s (${summary.observed}/${summary.offered} started)` };
    };
    return [bar(`${s.label} p50`, summary?.p50, light), bar(`${s.label} p99`, summary?.p99, dark)];
  });
  const first = panel(`Drain throughput, runs/s (log scale; higher is better)`, 'runs/s', throughput, 10);
  const second = panel(`create→start latency at ${settings.rate} runs/s, ms (log scale; lower is better)`, 'ms', latency, 10 + first.height + 10);
  const height = 10 + first.height + 10 + second.height + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    '<defs><pattern id="beyond" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2"/></pattern></defs>',
    '<style>.title{font-weight:600;font-size:13px}.label{text-anchor:end}.tick{text-anchor:middle;fill:#666;font-size:10px}.grid{stroke:#ddd}.value{fill:#222}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    first.svg,
    second.svg,
    `<text x="10" y="${height - 8}" class="tick" style="text-anchor:start">${escape(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** Writes bench/results/compare-latest.svg; returns its path. */
export async function writeChart(svg: string): Promise<string> {
  const path = join(projectRoot, 'bench', 'results', 'compare-latest.svg');
  await writeFile(`${path}.${process.pid}.tmp`, svg);
  await rename(`${path}.${process.pid}.tmp`, path);
  return path;
}
