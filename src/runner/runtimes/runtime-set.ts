import type { Logger } from 'pino';
import type { Handler } from '../../core/handler.js';
import { leaseOf, type Run, type Runtime } from '../../core/types.js';
import { RunExecution } from '../run-execution.js';
import { InlineRuntime } from './inline-runtime.js';
import { ProcessRuntime } from './process-runtime.js';

export interface RuntimeSetOptions {
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly log: Logger;
  /** For runs that name no runtime. @defaultValue `inline` */
  readonly runtime?: Runtime;
  /** Seconds, for runs that name no `run_timeout`. @defaultValue 3600 */
  readonly runTimeout?: number;
  /** @defaultValue 5000 */
  readonly abortGraceMs?: number;
  /** What the process runtime's children may load. @defaultValue `{}` */
  readonly modules?: Readonly<Record<string, string>>;
  /** Idle process runtime children kept warm. @defaultValue 2 */
  readonly processPoolSize?: number;
}

/**
 * A runner's two runtimes and its defaults for them: turns a claimed run into an attempt
 * (`RunExecution`) in the run's runtime with its limits, counts the handlers given up on, and
 * ends the process runtime's children on close.
 */
export class RuntimeSet {
  readonly #options: RuntimeSetOptions;
  readonly #inline: InlineRuntime;
  readonly #process: ProcessRuntime;
  readonly #gaveUp = { killed: 0, abandoned: 0 };

  constructor(options: RuntimeSetOptions) {
    this.#options = options;
    this.#inline = new InlineRuntime(options.handlers);
    this.#process = new ProcessRuntime({ modules: options.modules ?? {}, size: options.processPoolSize ?? 2 });
  }

  /** Handlers that ignored their signal past the grace: `killed` children, `abandoned` inline calls. */
  get gaveUp(): { readonly killed: number; readonly abandoned: number } {
    return { ...this.#gaveUp };
  }

  get processPids(): number[] {
    return this.#process.pids;
  }

  execution(run: Run): RunExecution {
    const options = this.#options;
    const runtime = (run.runtime ?? options.runtime ?? 'inline') === 'process' ? this.#process : this.#inline;
    return new RunExecution(run, leaseOf(run), {
      runtime,
      runTimeout: run.runTimeout ?? options.runTimeout ?? 3600,
      abortGraceMs: options.abortGraceMs ?? 5000,
      log: options.log,
      onAbandon: () => void this.#gaveUp[runtime.kind === 'process' ? 'killed' : 'abandoned']++,
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.#inline.close(), this.#process.close()]);
  }
}
