/**
 * What live members publish about themselves in the registry (the coordinator's `heartbeat`),
 * so the API can list runners and nodes without asking them.
 */

export const ROLES = ['api', 'scheduler', 'storage', 'runner'] as const;
export type Role = (typeof ROLES)[number];

export interface RunnerInfo {
  readonly id: string;
  /** The node (process) the runner lives in. */
  readonly node: string;
  readonly cluster: string;
  /** Worker group (`WORKER_GROUP`). */
  readonly group: string;
  /** Tags it claims now: its own, or those its worker group's config gives it. */
  readonly tags: readonly string[];
  /** Handlers it claims now: those it loaded, or only its group's dedicated handler. */
  readonly handlers: readonly string[];
  /** Its worker group's dedicated handler, when the group names one (absent from older runners). */
  readonly dedicatedHandler?: string | null;
  readonly capacity: number;
  /** Runs executing now. */
  readonly load: number;
  /** `running`, or `draining` after SIGTERM. */
  readonly state: 'running' | 'draining';
  readonly startedAt: string;
}

export interface NodeInfo {
  readonly id: string;
  readonly roles: readonly Role[];
  /** `host:port` of its HTTP server, or null without the api role. */
  readonly listen: string | null;
  /** `mongodb` or `embedded`. */
  readonly storage: string;
  /** `redis` or `in-process`. */
  readonly coordination: string;
  readonly pid: number;
  readonly version: string;
  readonly startedAt: string;
}
