import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot, servicesDir } from '../../test/services/project-root.js';

export interface Environment {
  readonly date: string;
  readonly command: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly os: string;
  };
  readonly node: string;
  readonly mongodbDriver: string;
  /** `v1.24.2 (SQLite)` for the local servers, `external` for TASKPLANE_TEST_MONGO_URLS. */
  readonly ferretdb: string;
}

async function driverVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(join(projectRoot, 'node_modules', 'mongodb', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function ferretDbVersion(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(join(servicesDir, 'bin', 'ferretdb'), ['--version'], { timeout: 10_000 });
    const version = /^version:\s*(\S+)/m.exec(stdout)?.[1];
    return version ? `${version} (SQLite backend)` : stdout.trim().split('\n')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** How the script was started, as a user would type it (URLs are not shown: they may hold credentials). */
function commandLine(): string {
  const env = [
    ...(process.env['BENCH_RUNS'] ? [`BENCH_RUNS=${process.env['BENCH_RUNS']}`] : []),
    ...(process.env['TASKPLANE_TEST_MONGO_URLS']?.trim() ? ['TASKPLANE_TEST_MONGO_URLS=…'] : []),
  ];
  const script = process.env['npm_lifecycle_event'] === 'bench:storage' ? 'npm run bench:storage' : 'npx tsx bench/storage.ts';
  return [...env, script].join(' ');
}

export async function describeEnvironment(external: boolean): Promise<Environment> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    command: commandLine(),
    machine: {
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      cores: cpus.length,
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
    },
    node: process.version,
    mongodbDriver: await driverVersion(),
    ferretdb: external ? 'external' : await ferretDbVersion(),
  };
}
