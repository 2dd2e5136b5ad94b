import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../test/services/project-root.js';

/**
 * Where every benchmark puts its figures: `bench/results/<name>-<timestamp>.json`,
 * `<name>-latest.json` and `<name>-latest.md`, and the README section between
 * `<!-- bench:<name>:start -->` and `<!-- bench:<name>:end -->`. One place, so each benchmark
 * only renders its own table.
 */

const resultsDir = join(projectRoot, 'bench', 'results');
const README = join(projectRoot, 'README.md');

async function writeAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
}

/** Writes the dated and latest JSON and the Markdown of benchmark `name`; returns the paths written. */
export async function writeBenchResults(name: string, report: { environment: { date: string } }, markdown: string): Promise<string[]> {
  const stamp = report.environment.date.replace(/\.\d+Z$/, 'Z').replace(/:/g, '');
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const paths = [join(resultsDir, `${name}-${stamp}.json`), join(resultsDir, `${name}-latest.json`), join(resultsDir, `${name}-latest.md`)];
  await writeAtomically(paths[0]!, json);
  await writeAtomically(paths[1]!, json);
  await writeAtomically(paths[2]!, `${markdown}\n`);
  return paths;
}

/** Replaces what is between benchmark `name`'s README markers; leaves the README alone without both. */
export async function updateBenchReadme(name: string, markdown: string): Promise<'updated' | 'unchanged' | 'no markers' | 'no README'> {
  const startMarker = `<!-- bench:${name}:start -->`;
  const endMarker = `<!-- bench:${name}:end -->`;
  let content: string;
  try {
    content = await readFile(README, 'utf8');
  } catch {
    return 'no README';
  }
  const start = content.indexOf(startMarker);
  const end = content.indexOf(endMarker, start + startMarker.length);
  if (start < 0 || end < 0) return 'no markers';
  const next = `${content.slice(0, start + startMarker.length)}\n${markdown}\n${content.slice(end)}`;
  if (next === content) return 'unchanged';
  await writeFile(README, next);
  return 'updated';
}

/** The log line about the README update. */
export function readmeOutcome(name: string, outcome: Awaited<ReturnType<typeof updateBenchReadme>>): string {
  if (outcome === 'updated') return `README: section between the bench:${name} markers replaced`;
  return outcome === 'unchanged' ? 'README: already up to date' : `README: left alone (${outcome})`;
}
