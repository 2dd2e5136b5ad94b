import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { SessionAnswer } from '../../api/runner-gateway/protocol.js';
import { TaskplaneError } from '../../core/errors.js';
import { GatewayClient, GatewayRequestError } from './gateway-client.js';
import { RemoteCatalog } from './remote-catalog.js';
import { RemoteCoordinator } from './remote-coordinator.js';
import { RemoteStore } from './remote-store.js';

/**
 * A remote runner's way in: the adapters the `Runner` uses (store, coordinator, catalog) over an
 * api node's runner gateway, after a `session` request has checked, before anything else, that
 * the token is valid and scoped to the runner's cluster. A remote runner never opens a MongoDB
 * or Redis connection; all it holds is the gateway's URL and its runner token.
 *
 * At start, a gateway that cannot be reached is asked again for `startTimeoutMs` (the api may be
 * starting too). A refused token, a token of another cluster, or a cluster that does not exist
 * stop the node with a `RunnerTokenRefusedError` (`CONFIG_INVALID`: exit status 2).
 */
export interface RemoteRunnerOptions {
  readonly api: { readonly url: string; readonly token: string };
  /** This node's id; the runner's id is `<node>@<token name>`. */
  readonly node: string;
  readonly cluster: string;
  readonly group: string;
  readonly log: Logger;
  /** @defaultValue 30000 */
  readonly startTimeoutMs?: number;
}

export class RunnerTokenRefusedError extends TaskplaneError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

export interface RemoteRunnerConnection {
  /** The id to run as: `<node>@<token name>`. */
  readonly runnerId: string;
  readonly tokenName: string;
  readonly store: RemoteStore;
  readonly catalog: RemoteCatalog;
  readonly coordinator: RemoteCoordinator;
  /** For `/readyz`: whether the gateway answered the last request. */
  ready(): Promise<{ ok: boolean; details: object }>;
  /** Closes the push channel and aborts requests in flight (after the runner drained). */
  close(): Promise<void>;
}

export async function connectRemoteRunner(options: RemoteRunnerOptions): Promise<RemoteRunnerConnection> {
  const { api, log } = options;
  const client = new GatewayClient({ url: api.url, token: api.token, log });
  const url = new URL(client.base);
  if (url.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) {
    log.warn({ url: client.base }, 'the runner gateway URL is plain http: the runner token travels unencrypted; use https (a TLS proxy in front of the api nodes)');
  }
  const session = await openSession(client, options);
  const coordinator = new RemoteCoordinator({ client, log, runner: session.runner, cluster: session.cluster, group: options.group });
  coordinator.start();
  log.info({ url: client.base, runner: session.runner, token: session.token, cluster: session.cluster }, 'remote runner: the api node accepted the runner token');
  return {
    runnerId: session.runner,
    tokenName: session.token,
    store: new RemoteStore(client, log),
    catalog: new RemoteCatalog(client),
    coordinator,
    async ready() {
      const health = await coordinator.health();
      return { ok: health.ok, details: { remote: client.base, runner: session.runner, gateway: health, pushChannel: coordinator.pushConnected } };
    },
    async close() {
      await coordinator.close();
      client.close();
    },
  };
}

async function openSession(client: GatewayClient, options: RemoteRunnerOptions): Promise<SessionAnswer> {
  const until = Date.now() + (options.startTimeoutMs ?? 30_000);
  const where = `the api node at ${client.base}`;
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.post<SessionAnswer>('session', { node: options.node, cluster: options.cluster, group: options.group }, { retries: 0 });
    } catch (error) {
      if (!(error instanceof GatewayRequestError)) throw error;
      if (error.status === 401) {
        throw new RunnerTokenRefusedError(
          `${where} refused the runner token (node.runner.api.token or TASKPLANE_RUNNER_TOKEN): ${error.message}. ` +
            'Make one with `taskplane token create --runner --cluster SLUG --name NAME` and list the entry it prints under node.api.runner_tokens on every api node.',
        );
      }
      if (error.status === 403 || error.status === 404) throw new RunnerTokenRefusedError(`${where} refused this runner: ${error.message}`);
      if (error.status !== null && error.status < 500 && error.status !== 429) throw new Error(`${where} answered the runner session request with ${error.code}: ${error.message}`);
      if (Date.now() >= until) throw new Error(`cannot start the remote runner: ${error.message} (still failing after ${options.startTimeoutMs ?? 30_000} ms)`);
      if (attempt === 0) options.log.warn({ err: error }, 'runner gateway not reachable yet; trying again');
      await sleep(Math.min(250 * 2 ** attempt, 3000));
    }
  }
}
