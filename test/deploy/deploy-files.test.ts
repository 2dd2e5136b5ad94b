import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { NodeConfig } from '../../src/config/node-config.js';
import { projectRoot } from '../services/project-root.js';
import { parseDockerfile } from './dockerfile.js';

/**
 * The deployment files cannot be run here (no Docker), so this checks what can go wrong in them
 * without running them: they parse; every service, host, port, probe, mount and image stage they
 * name exists and agrees with the others; the config they mount passes the node's own config
 * validation with each service's environment; runners sit in the two clusters described.
 */

const deploy = join(projectRoot, 'deploy');
const read = (path: string) => readFileSync(join(deploy, path), 'utf8');
/** Runner cluster → the tags its runners listen to, as deploy/README.md describes. */
const RUNNER_CLUSTERS = { default: ['cpu'], gpu: ['gpu'] };

type Env = Record<string, string>;

function hostOf(url: string): string {
  return new URL(url).hostname;
}

function portOfListen(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** Whether `token` is one the config's api accepts with the admin role (creating clusters needs it). */
function isAdminToken(config: NodeConfig, token: string): boolean {
  const sha256 = createHash('sha256').update(token).digest('hex');
  return config.api.tokens.some((entry) => entry.sha256 === sha256 && entry.role === 'admin');
}

/** Hosts a compiled node config connects to. */
function hostsOf(config: NodeConfig): string[] {
  return [...(config.mongo?.shards ?? []).map(hostOf), ...(config.redis ? [hostOf(config.redis.url)] : [])];
}

// ── Dockerfile ───────────────────────────────────────────────────────────────────────────────

const dockerfile = parseDockerfile(read('Dockerfile'));
const runtime = dockerfile.stages.at(-1)!;
const imageEnv: Env = Object.fromEntries(runtime.instructions.filter((i) => i.keyword === 'ENV').flatMap((i) => parseEnv(i.args)));

function parseEnv(args: string): Array<[string, string]> {
  return [...args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!.replace(/^"|"$/g, '')]);
}

describe('Dockerfile', () => {
  it('has a build stage and a slim runtime stage that copies only from earlier stages', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const [index, stage] of dockerfile.stages.entries()) {
      const earlier = new Set(dockerfile.stages.slice(0, index).map((s) => s.name));
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY')) {
        const from = /--from=(\S+)/.exec(copy.args)?.[1];
        if (from !== undefined) expect(earlier, `${stage.name}: COPY --from=${from}`).toContain(from);
      }
    }
    expect(dockerfile.stages[0]!.instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args))).toBe(true);
    expect(dockerfile.stages[0]!.instructions.some((i) => i.keyword === 'RUN' && /npm prune --omit=dev/.test(i.args))).toBe(true);
    expect(runtime.from).toMatch(/slim/);
  });

  it('copies from the build context only files that exist and that the .dockerignore lets through', () => {
    const ignore = read('Dockerfile.dockerignore').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(ignore[0]).toBe('**');
    const allowed = ignore.slice(1).map((line) => line.replace(/^!/, '').replace(/\/\*\*$/, ''));
    for (const stage of dockerfile.stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))) {
        const sources = copy.args.split(/\s+/).filter((word) => !word.startsWith('--')).slice(0, -1);
        for (const source of sources) {
          expect(existsSync(join(projectRoot, source)), `COPY ${source}`).toBe(true);
          expect(allowed, `COPY ${source} is excluded by Dockerfile.dockerignore`).toContain(source);
        }
      }
    }
  });

  it("runs the CLI entry point as a non-root user, with a health check on the node's listen port", () => {
    const entrypoint = JSON.parse(runtime.instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
    expect(entrypoint).toEqual(['node', 'bin/taskplane.js']);
    expect(JSON.parse(runtime.instructions.find((i) => i.keyword === 'CMD')!.args)).toEqual(['start']);
    expect(existsSync(join(projectRoot, entrypoint[1]!))).toBe(true);
    // The entry point and what it loads are in the runtime image.
    const copied = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args.split(/\s+/).at(-2));
    expect(copied).toEqual(expect.arrayContaining(['/app/bin', '/app/src', '/app/node_modules', '/app/package.json']));
    const bin = readFileSync(join(projectRoot, entrypoint[1]!), 'utf8');
    const loaded = /import\('(\.\.\/src\/[^']+)'\)/.exec(bin)?.[1];
    expect(loaded && existsSync(resolve(projectRoot, 'bin', loaded))).toBe(true);
    // tsx loads the sources at run time: it must survive `npm prune --omit=dev`.
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
    expect(pkg.bin.taskplane).toBe(`./${entrypoint[1]}`);
    expect(pkg.dependencies.tsx).toBeDefined();
    const lock = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    expect(lock.packages['node_modules/tsx']?.dev).toBeUndefined();
    expect(lock.packages['node_modules/esbuild']?.dev).toBeUndefined();

    const user = runtime.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const port = portOfListen(imageEnv.TASKPLANE_LISTEN!);
    expect(runtime.instructions.find((i) => i.keyword === 'EXPOSE')?.args).toBe(String(port));
    const health = runtime.instructions.find((i) => i.keyword === 'HEALTHCHECK')!.args;
    expect(health).toContain('/healthz');
    expect(health).toContain("'4000'");
    expect(imageEnv.TASKPLANE_CONFIG).toBe('/etc/taskplane/taskplane.yaml');
  });
});

// ── docker compose ───────────────────────────────────────────────────────────────────────────

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Env;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  stop_grace_period?: string;
  deploy?: { replicas?: number };
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const services = compose.services;
const taskplaneServices = Object.entries(services).filter(([, s]) => s.image?.startsWith('taskplane:'));
const nodeServices = taskplaneServices.filter(([, s]) => s.command?.[0] === 'start');

/** The config a compose service's node would load: the image's env, then the service's, with the mounted file. */
function composeNodeConfig(service: ComposeService): NodeConfig {
  const env = { ...imageEnv, ...service.environment };
  const inContainer = env.TASKPLANE_CONFIG!;
  const mount = (service.volumes ?? []).map((v) => v.split(':')).find(([, target]) => inContainer.startsWith(`${target}/`));
  expect(mount, `a volume mounts ${inContainer}`).toBeDefined();
  const onHost = join(deploy, mount![0]!, posix.relative(mount![1]!, inContainer));
  return loadConfig({ argv: ['--config', onHost], env, cwd: deploy });
}

describe('docker-compose.yml', () => {
  it('has three mongo:7 shards, each a one-member replica set initiated by its healthcheck, and Redis', () => {
    const mongos = Object.entries(services).filter(([, s]) => s.image === 'mongo:7');
    expect(mongos.map(([name]) => name)).toEqual(['mongo-0', 'mongo-1', 'mongo-2']);
    const sets = mongos.map(([, s]) => s.command![s.command!.indexOf('--replSet') + 1]);
    expect(new Set(sets).size).toBe(3);
    for (const [, s] of mongos) expect(s.healthcheck?.test?.join(' ')).toMatch(/rs\.initiate\(\)/);
    expect(services.redis?.image).toMatch(/^redis:/);
  });

  it('refers only to services, named volumes and files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(Object.keys(services), `${name} depends on ${dependency}`).toContain(dependency);
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source!.startsWith('.') || source!.startsWith('/')) expect(existsSync(join(deploy, source!)), `${name}: ${volume}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name}: volume ${source}`).toContain(source);
      }
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/^https?:\/\/|^mongodb:\/\/|^redis:\/\//.test(value)) expect(Object.keys(services), `${name}: ${key}=${value}`).toContain(hostOf(value));
      }
    }
  });

  it('gives every node a config that passes validation, names hosts that are services, and publishes the listen port', () => {
    expect(nodeServices.length).toBeGreaterThanOrEqual(5);
    for (const [name, service] of nodeServices) {
      const config = composeNodeConfig(service);
      for (const host of hostsOf(config)) expect(Object.keys(services), `${name} connects to ${host}`).toContain(host);
      expect(config.listen).toMatchObject({ host: '0.0.0.0', explicit: true });
      for (const mapping of service.ports ?? []) expect(portOfListen(mapping)).toBe(config.listen.port);
      // After the drain grace, aborted handlers get the abort grace (+1 s), then outcomes are flushed for up to 15 s.
      expect(parseInt(service.stop_grace_period ?? '10s', 10) * 1000).toBeGreaterThanOrEqual(config.runner.drainGraceMs + config.runner.abortGraceMs + 16_000);
      for (const dependency of ['mongo-0', 'mongo-1', 'mongo-2', 'redis']) expect(service.depends_on?.[dependency]?.condition, `${name} waits for ${dependency}`).toBe('service_healthy');
    }
  });

  it('runs one api+scheduler node, two storage nodes, and runners in the two clusters with their tags', () => {
    const roles = nodeServices.map(([name, s]) => [name, composeNodeConfig(s).roles.join(',')]);
    expect(roles.filter(([, r]) => r === 'api,scheduler').map(([n]) => n)).toEqual(['api']);
    expect(roles.filter(([, r]) => r === 'storage')).toHaveLength(2);
    const runners = nodeServices.map(([, s]) => composeNodeConfig(s)).filter((c) => c.roles.includes('runner'));
    expect(Object.fromEntries(runners.map((c) => [c.runner.cluster, c.runner.ownTags ?? c.runner.tags.filter((t) => t !== 'default')]))).toEqual(RUNNER_CLUSTERS);
  });

  it('creates the gpu cluster before its runners start, with a token the api accepts', () => {
    const init = services['cluster-init']!;
    expect(init.command).toEqual(expect.arrayContaining(['cluster', 'create', '--slug', 'gpu', '--exists-ok']));
    expect(hostOf(init.environment!.TASKPLANE_URL!)).toBe('api');
    const token = /^\$\{TASKPLANE_TOKEN:-(\S+)\}$/.exec(init.environment!.TASKPLANE_TOKEN!)?.[1];
    const api = composeNodeConfig(services.api!);
    expect(api.api.auth).toBe(true);
    expect(token && isAdminToken(api, token)).toBe(true);
    expect(init.depends_on?.api?.condition).toBe('service_healthy');
    expect(services['runner-gpu']!.depends_on?.['cluster-init']?.condition).toBe('service_completed_successfully');
  });
});

// ── Kubernetes ───────────────────────────────────────────────────────────────────────────────

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Env };
  spec?: any;
  data?: Env;
}

const k8sDir = join(deploy, 'k8s');
const kustomization = parse(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as { namespace: string; resources: string[] };
const resources: Resource[] = kustomization.resources.flatMap((file) =>
  parseAllDocuments(readFileSync(join(k8sDir, file), 'utf8')).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return doc.toJS() as Resource;
  }),
);
const ofKind = (kind: string) => resources.filter((r) => r.kind === kind);
const workloads = resources.filter((r) => r.kind === 'Deployment' || r.kind === 'StatefulSet');
const taskplaneDeployments = ofKind('Deployment').filter((d) => d.spec.template.spec.containers.some((c: any) => String(c.image).startsWith('taskplane:')));
const serviceNames = ofKind('Service').map((s) => s.metadata.name);
const matches = (selector: Env, labels: Env | undefined) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function containerEnv(container: any): Env {
  // Values from the downward API are known only in the pod; a stand-in shows the config accepts one.
  return Object.fromEntries((container.env ?? []).map((e: any) => [e.name, e.value ?? 'pod-name-1']));
}

/** The config a Deployment's node would load: the ConfigMap's items written where the pod mounts them. */
function k8sNodeConfig(deployment: Resource): NodeConfig {
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env = { ...imageEnv, ...containerEnv(container) };
  const root = mkdtempSync(join(tmpdir(), 'tp-k8s-'));
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    if (!volume?.configMap) continue;
    const configMap = ofKind('ConfigMap').find((c) => c.metadata.name === volume.configMap.name);
    expect(configMap, `ConfigMap ${volume.configMap.name}`).toBeDefined();
    for (const item of volume.configMap.items) {
      const target = join(root, mount.mountPath, item.path);
      mkdirSync(dirname(target), { recursive: true });
      expect(configMap!.data?.[item.key], `key ${item.key}`).toBeDefined();
      writeFileSync(target, configMap!.data![item.key]!);
    }
  }
  return loadConfig({ argv: ['--config', join(root, env.TASKPLANE_CONFIG!)], env, cwd: root });
}

describe('Kubernetes manifests', () => {
  it('lists every manifest in kustomization.yaml, in one namespace', () => {
    const files = readdirSync(k8sDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    for (const resource of resources) {
      expect(resource.apiVersion && resource.kind && resource.metadata?.name).toBeTruthy();
      if (resource.kind !== 'Namespace') expect(resource.metadata.namespace, `${resource.kind} ${resource.metadata.name}`).toBe(kustomization.namespace);
    }
  });

  it('carries the same cluster config as deploy/config/ in its ConfigMap', () => {
    const configMap = ofKind('ConfigMap').find((c) => c.metadata.name === 'taskplane-config')!;
    expect(configMap.data!['taskplane.yaml']).toBe(read('config/taskplane.yaml'));
    expect(configMap.data!['ops.js']).toBe(read('config/handlers/ops.js'));
  });

  it('has Deployments whose selectors match their pods, and Services that select pods on ports they have', () => {
    for (const workload of workloads) expect(matches(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels), workload.metadata.name).toBe(true);
    for (const service of ofKind('Service')) {
      const selected = workloads.filter((w) => matches(service.spec.selector, w.spec.template.metadata.labels));
      expect(selected.length, `Service ${service.metadata.name} selects no pods`).toBeGreaterThan(0);
      for (const port of service.spec.ports) {
        for (const workload of selected) {
          const ports = workload.spec.template.spec.containers.flatMap((c: any) => c.ports ?? []);
          expect(ports.some((p: any) => p.name === port.targetPort || p.containerPort === port.targetPort), `${service.metadata.name} → ${workload.metadata.name}:${port.targetPort}`).toBe(true);
        }
      }
    }
  });

  it('probes /healthz and /readyz on the port each node listens on, with resources and a grace period covering the drain', () => {
    expect(taskplaneDeployments.map((d) => d.metadata.name).sort()).toEqual(['taskplane-api', 'taskplane-runner-default', 'taskplane-runner-gpu', 'taskplane-storage']);
    for (const deployment of taskplaneDeployments) {
      const pod = deployment.spec.template.spec;
      const container = pod.containers[0];
      const config = k8sNodeConfig(deployment);
      const named = (port: string | number) => container.ports.find((p: any) => p.name === port || p.containerPort === port)?.containerPort;
      expect(named(container.livenessProbe.httpGet.port)).toBe(config.listen.port);
      expect(named(container.readinessProbe.httpGet.port)).toBe(config.listen.port);
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(config.listen.explicit).toBe(true);
      for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${deployment.metadata.name}/${c.name} resources`).toBeTruthy();
      }
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(config.runner.drainGraceMs + config.runner.abortGraceMs + 16_000);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      for (const host of hostsOf(config)) expect(serviceNames, `${deployment.metadata.name} connects to ${host}`).toContain(host);
      for (const c of pod.initContainers ?? []) {
        for (const [key, value] of Object.entries(containerEnv(c))) if (/^https?:\/\//.test(value)) expect(serviceNames, `${key}=${value}`).toContain(hostOf(value));
      }
    }
  });

  it('runs one api+scheduler Deployment, a storage Deployment, and runners in the two clusters with their tags', () => {
    const configs = taskplaneDeployments.map((d) => [d, k8sNodeConfig(d)] as const);
    expect(configs.filter(([, c]) => c.roles.join(',') === 'api,scheduler').map(([d]) => d.metadata.name)).toEqual(['taskplane-api']);
    expect(configs.filter(([, c]) => c.roles.join(',') === 'storage').map(([d]) => d.metadata.name)).toEqual(['taskplane-storage']);
    const runners = configs.filter(([, c]) => c.roles.includes('runner'));
    expect(Object.fromEntries(runners.map(([, c]) => [c.runner.cluster, c.runner.ownTags ?? c.runner.tags.filter((t) => t !== 'default')]))).toEqual(RUNNER_CLUSTERS);
    const gpu = runners.find(([, c]) => c.runner.cluster === 'gpu')![0];
    const init = gpu.spec.template.spec.initContainers[0];
    expect(init.args).toEqual(expect.arrayContaining(['cluster', 'create', '--slug', 'gpu', '--exists-ok']));
    // Its token comes from a Secret that exists and that the api accepts as an admin's.
    const ref = init.env.find((e: any) => e.name === 'TASKPLANE_TOKEN').valueFrom.secretKeyRef;
    const secret = ofKind('Secret').find((x) => x.metadata.name === ref.name) as (Resource & { stringData?: Env }) | undefined;
    const token = secret?.stringData?.[ref.key];
    const api = configs.find(([d]) => d.metadata.name === 'taskplane-api')![1];
    expect(api.api.auth).toBe(true);
    expect(token && isAdminToken(api, token)).toBe(true);
  });

  it('gives each runner Deployment a PodDisruptionBudget and an autoscaler', () => {
    const runnerDeployments = taskplaneDeployments.filter((d) => k8sNodeConfig(d).roles.includes('runner'));
    for (const deployment of runnerDeployments) {
      const labels = deployment.spec.template.metadata.labels;
      const budgets = ofKind('PodDisruptionBudget').filter((p) => matches(p.spec.selector.matchLabels, labels));
      expect(budgets, `PDB for ${deployment.metadata.name}`).toHaveLength(1);
      // A budget may select only this Deployment's pods, or it would count the other cluster's.
      for (const other of runnerDeployments.filter((d) => d !== deployment)) expect(matches(budgets[0]!.spec.selector.matchLabels, other.spec.template.metadata.labels)).toBe(false);
      const scalers = ofKind('HorizontalPodAutoscaler').filter((h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === deployment.metadata.name);
      expect(scalers, `HPA for ${deployment.metadata.name}`).toHaveLength(1);
      expect(scalers[0]!.spec.minReplicas).toBeLessThanOrEqual(scalers[0]!.spec.maxReplicas);
    }
  });
});

describe('deploy/README.md', () => {
  it('replaces the placeholder and names every file it describes', () => {
    const readme = read('README.md');
    for (const file of ['Dockerfile', 'docker-compose.yml', 'config/taskplane.yaml', ...kustomization.resources]) expect(readme, file).toContain(file);
    expect(statSync(join(deploy, 'README.md')).size).toBeGreaterThan(1000);
    expect(relative(projectRoot, deploy)).toBe('deploy');
  });
});

