import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deferCleanup } from '../lib/cleanup.js';
import { projectRoot } from '../../test/services/project-root.js';

/**
 * How worker children run the TypeScript sources. Through tsx, a worker carries the loader and
 * its transform cache (about 40 MiB more RSS than the code it runs), which would swamp the RSS
 * comparison and is not what a deployed worker runs. So the worker entry is bundled once per
 * benchmark with esbuild (already installed, as tsx's engine) into plain ES modules — code
 * split, so a BullMQ worker never loads the MongoDB stack — and run with plain `node`. If esbuild
 * cannot be loaded or fails, the workers fall back to tsx and the report says so.
 *
 * The bundle lives under node_modules/.cache (so its bare imports resolve to the project's
 * node_modules), in a directory of this process, removed at exit.
 */
export interface WorkerEntry {
  readonly entry: string;
  readonly execArgv: readonly string[];
  /** For the report: how the workers ran. */
  readonly loader: string;
}

const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

let prepared: Promise<WorkerEntry> | null = null;
let remove: (() => Promise<void>) | null = null;

export function workerEntry(): Promise<WorkerEntry> {
  prepared ??= bundle();
  return prepared;
}

/** Removes the bundle (also done by the cleanup on a signal or failure). */
export async function removeWorkerBundle(): Promise<void> {
  await remove?.();
}

async function bundle(): Promise<WorkerEntry> {
  const outdir = join(projectRoot, 'node_modules', '.cache', 'taskplane-bench', `compare-worker-${process.pid}`);
  try {
    const esbuild = await import('esbuild');
    remove = deferCleanup('remove the worker bundle', () => rm(outdir, { recursive: true, force: true }));
    await esbuild.build({
      entryPoints: [WORKER_MAIN],
      outdir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
    });
    return { entry: join(outdir, 'worker-main.mjs'), execArgv: [], loader: `plain node on an esbuild ${esbuild.version} bundle of the sources` };
  } catch (error) {
    return {
      entry: WORKER_MAIN,
      execArgv: ['--import', import.meta.resolve('tsx')],
      loader: `tsx (bundling failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}; RSS includes the loader)`,
    };
  }
}
