import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { ManagedProcess, type ServiceProcess } from './managed-process.js';
import { assertPortOpen } from './port-open.js';
import { ensureFerretDb } from './provision.js';
import { startWithPort } from './start-with-port.js';

export interface FerretDbOptions {
  /** SQLite directory to reuse; a fresh temp dir (removed by stop()) otherwise. */
  dataDir?: string;
  port?: number;
}

/**
 * `url` is the base URL without a database (`mongodb://127.0.0.1:40123/`); `restart()` keeps
 * the data dir; `stop()` removes the data dir if startFerretDb created it.
 */
export interface FerretDbProcess extends ServiceProcess {
  dataDir: string;
}

const READY_TIMEOUT_MS = 20_000;

async function pingMongo(port: number, pid: number): Promise<void> {
  await assertPortOpen('127.0.0.1', port, 1_000);
  const url = `mongodb://127.0.0.1:${port}/`;
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
  try {
    const admin = client.db('admin');
    await admin.command({ ping: 1 });
    const status = await admin.command({ serverStatus: 1 });
    if (status['pid'] !== pid) {
      throw new Error(`port is answered by another process (pid ${String(status['pid'])}), not by pid ${pid}`);
    }
  } finally {
    await client.close();
  }
}

async function launch(binary: string, dataDir: string, port: number): Promise<{ url: string; server: ManagedProcess }> {
  const url = `mongodb://127.0.0.1:${port}/`;
  const server = new ManagedProcess({
    name: `FerretDB on 127.0.0.1:${port}`,
    command: binary,
    args: [
      '--handler=sqlite',
      // FerretDB requires the trailing slash: the URI names a directory.
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--state-dir=-',
      '--telemetry=disable',
    ],
    // FerretDB only opens *.sqlite files, so the log can live in the data dir.
    logFile: join(dataDir, 'ferretdb.log'),
    probe: (pid) => pingMongo(port, pid),
    readyTimeoutMs: READY_TIMEOUT_MS,
  });
  await server.start();
  return { url, server };
}

/** Starts a FerretDB (SQLite backend) server on 127.0.0.1 and waits until it answers ping. */
export async function startFerretDb(opts: FerretDbOptions = {}): Promise<FerretDbProcess> {
  const binary = await ensureFerretDb();
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'taskplane-ferretdb-')) : resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  let started;
  try {
    started = await startWithPort(opts.port, async (port) => ({ port, ...(await launch(binary, dataDir, port)) }));
  } catch (err) {
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { port, url, server } = started;
  return {
    url,
    port,
    dataDir,
    kill: (signal) => server.kill(signal),
    async restart() {
      await server.kill();
      await server.start();
    },
    async stop() {
      await server.kill();
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
