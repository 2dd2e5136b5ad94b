import { constants } from 'node:fs';
import { access, chmod, cp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { ProvisionError, errorMessage } from './errors.js';
import { withFileLock } from './file-lock.js';
import { projectRoot, servicesDir } from './project-root.js';
import { describeCommand, runCommand, tail } from './run-command.js';

export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const FERRETDB_VERSION = 'v1.24.2';

const ferretDbBinary = join(servicesDir, 'bin', 'ferretdb');
const buildLock = join(servicesDir, 'ferretdb.build.lock');
// A cold build on 2 cores takes several minutes; a waiter must outlast it.
const BUILD_LOCK_TIMEOUT_MS = 30 * 60_000;

function notice(message: string): void {
  process.stderr.write(`[taskplane] ${message}\n`);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, extraDirs: readonly string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirs];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

// --- Redis -----------------------------------------------------------------

const REDIS_HELP =
  'Install Redis so that `redis-server` is on PATH (Debian/Ubuntu: `apt-get install -y redis-server`), ' +
  'or run the tests against an existing server with TASKPLANE_TEST_REDIS_URL=redis://127.0.0.1:6379.';

async function aptInstall(pkg: string, help: string = REDIS_HELP): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const steps: [string, string[]][] = [
    ['apt-get', ['update']],
    ['apt-get', ['install', '-y', pkg]],
  ];
  for (const [command, args] of steps) {
    const shown = describeCommand(command, args);
    let result;
    try {
      result = await runCommand(command, args, { env });
    } catch (err) {
      throw new ProvisionError(`\`${shown}\` could not start: ${errorMessage(err)}. ${help}`, { cause: err });
    }
    if (result.code !== 0) {
      throw new ProvisionError(
        `\`${shown}\` exited with ${result.code}:\n${tail(result.stderr || result.stdout)}\n${help}`,
      );
    }
  }
}

async function provisionRedisServer(): Promise<string> {
  // sbin dirs: Debian installs to /usr/bin, but other layouts exist and
  // non-login shells often leave sbin off PATH.
  const extra = ['/usr/sbin', '/usr/local/sbin'];
  const found = await findOnPath('redis-server', extra);
  if (found) return found;
  notice('redis-server not found on PATH; installing the Debian package `redis-server` with apt-get ...');
  await aptInstall('redis-server');
  const installed = await findOnPath('redis-server', extra);
  if (!installed) {
    throw new ProvisionError(`apt-get installed redis-server but it is still not on PATH. ${REDIS_HELP}`);
  }
  return installed;
}

/** Shares one provisioning per process; a failed one is forgotten so the next call tries again. */
function onceUntilFailure(provision: () => Promise<string>): () => Promise<string> {
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= provision().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

/** Path of a `redis-server` binary, installing the Debian package if needed. */
export const ensureRedisServer: () => Promise<string> = onceUntilFailure(provisionRedisServer);

// --- Chromium (browser test of the web UI) ----------------------------------

const CHROMIUM_HELP =
  'The web UI test drives Debian\'s Chromium through playwright-core. Install it so that `chromium` is on PATH ' +
  '(Debian/Ubuntu: `apt-get install -y chromium`); the test fails rather than skips without it.';

async function findOrInstallChromium(): Promise<string> {
  const names = ['chromium', 'chromium-browser'];
  const find = async () => {
    for (const name of names) {
      const found = await findOnPath(name, ['/usr/bin']);
      if (found) return found;
    }
    return undefined;
  };
  const found = await find();
  if (found) return found;
  notice('chromium not found on PATH; installing the Debian package `chromium` with apt-get ...');
  await aptInstall('chromium', CHROMIUM_HELP);
  const installed = await find();
  if (!installed) throw new ProvisionError(`apt-get installed chromium but it is still not on PATH. ${CHROMIUM_HELP}`);
  return installed;
}

/** Path of a Chromium binary for playwright-core's `executablePath`, installing Debian's package if needed. */
export const provisionChromium: () => Promise<string> = onceUntilFailure(findOrInstallChromium);

// --- FerretDB --------------------------------------------------------------

const FERRETDB_HELP =
  'Alternatively run the tests against existing MongoDB-compatible servers with ' +
  'TASKPLANE_TEST_MONGO_URLS=mongodb://127.0.0.1:27017/,mongodb://127.0.0.1:27018/,...';

async function findGo(): Promise<string> {
  // The official tarball's location, for shells that never sourced its PATH line.
  const go = await findOnPath('go', ['/usr/local/go/bin']);
  if (!go) {
    throw new ProvisionError(
      `building FerretDB needs a Go toolchain (>= 1.24) and \`go\` was not found on PATH or in /usr/local/go/bin. ${FERRETDB_HELP}`,
    );
  }
  return go;
}

async function runGo(go: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const shown = describeCommand('go', args);
  let result;
  try {
    result = await runCommand(go, args, { cwd, env });
  } catch (err) {
    throw new ProvisionError(`\`${shown}\` could not start: ${errorMessage(err)}. ${FERRETDB_HELP}`, { cause: err });
  }
  if (result.code !== 0) {
    // `go mod download -json` reports its error inside the JSON on stdout.
    const output = [result.stderr, result.stdout].filter((s) => s.trim() !== '').join('\n');
    throw new ProvisionError(
      `\`${shown}\` (in ${cwd}) exited with ${result.code}:\n${tail(output)}\n${FERRETDB_HELP}`,
    );
  }
  return result.stdout;
}

/** Copies a read-only module-cache tree so that it can be edited and deleted. */
async function copyWritable(from: string, to: string): Promise<void> {
  await rm(to, { recursive: true, force: true });
  await cp(from, to, { recursive: true });
  await chmod(to, 0o755);
  for (const entry of await readdir(to, { recursive: true, withFileTypes: true })) {
    await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
}

async function buildFerretDb(): Promise<void> {
  const go = await findGo();
  const moduleRef = `${FERRETDB_MODULE}@${FERRETDB_VERSION}`;
  notice(`building FerretDB ${FERRETDB_VERSION} into ${relative(projectRoot, ferretDbBinary)} (first run only, takes several minutes) ...`);
  // `go install pkg@version` needs the proxy's version list, which is refused
  // here; downloading the exact version and building in place is not.
  const downloaded = await runGo(go, ['mod', 'download', '-json', moduleRef], tmpdir(), process.env);
  let moduleDir: unknown;
  try {
    moduleDir = (JSON.parse(downloaded) as { Dir?: unknown }).Dir;
  } catch (err) {
    throw new ProvisionError(`\`go mod download -json ${moduleRef}\` printed no JSON: ${tail(downloaded)}`, { cause: err });
  }
  if (typeof moduleDir !== 'string') {
    throw new ProvisionError(`\`go mod download -json ${moduleRef}\` gave no "Dir": ${tail(downloaded)}`);
  }
  // The module zip lacks the generated build/version/version.txt, and a binary
  // built without it panics at startup; the module cache is read-only, so
  // build from a writable copy with that file added.
  const workDir = join(servicesDir, `ferretdb-src.${process.pid}`);
  // Build to a temporary name so a killed build never leaves a truncated binary.
  const partial = `${ferretDbBinary}.partial-${process.pid}`;
  const goflags = [process.env['GOFLAGS'], '-buildvcs=false'].filter(Boolean).join(' ');
  try {
    await copyWritable(moduleDir, workDir);
    await writeFile(join(workDir, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    await runGo(go, ['build', '-trimpath', '-o', partial, './cmd/ferretdb'], workDir, { ...process.env, GOFLAGS: goflags });
    await rename(partial, ferretDbBinary);
  } finally {
    await rm(partial, { force: true });
    await rm(workDir, { recursive: true, force: true });
  }
  notice(`built ${relative(projectRoot, ferretDbBinary)}`);
}

// A binary built from the bare module zip exists but panics at startup, so
// existence alone does not prove a usable build.
async function isWorkingFerretDb(): Promise<boolean> {
  if (!(await isExecutable(ferretDbBinary))) return false;
  try {
    const { code } = await runCommand(ferretDbBinary, ['--version']);
    return code === 0;
  } catch {
    return false;
  }
}

async function provisionFerretDb(): Promise<string> {
  if (await isWorkingFerretDb()) return ferretDbBinary;
  await mkdir(join(servicesDir, 'bin'), { recursive: true });
  await withFileLock(
    buildLock,
    {
      timeoutMs: BUILD_LOCK_TIMEOUT_MS,
      onWait: (pid) => notice(`waiting for another FerretDB build (pid ${pid ?? '?'}, lock ${relative(projectRoot, buildLock)}) ...`),
    },
    async () => {
      // Whoever held the lock before us may have finished the build.
      if (!(await isWorkingFerretDb())) await buildFerretDb();
    },
  );
  return ferretDbBinary;
}

/** Path of `<project>/.services/bin/ferretdb`, building it with Go if missing. */
export const ensureFerretDb: () => Promise<string> = onceUntilFailure(provisionFerretDb);
