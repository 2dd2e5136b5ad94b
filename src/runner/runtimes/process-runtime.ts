import { splitFuncName } from '../../config/config-schema.js';
import { RuntimeRefusedError } from '../handler-errors.js';
import { answered, type HandlerCall, type HandlerRuntime, type Invocation } from './handler-runtime.js';
import { ProcessPool, type ProcessPoolOptions } from './process-pool.js';
import type { ProcessWorker } from './process-worker.js';

/**
 * Runs each call in a warm child process (see process-pool.ts), so a handler that ignores its
 * signal, blocks its event loop or crashes its process costs only that child: after the grace
 * the child is killed with SIGKILL and replaced, and the runner's other slots never notice.
 *
 * Children import only the modules listed under `modules:`, resolving `func_name` with the same
 * rule as the runner (module = everything before the last dot). A handler given in code
 * (`createNode({ handlers })`) exists only in the runner's process: such a run is refused with a
 * message saying so, never imported by name.
 */
export class ProcessRuntime implements HandlerRuntime {
  readonly kind = 'process' as const;
  readonly #modules: Readonly<Record<string, string>>;
  readonly #pool: ProcessPool;

  constructor(options: ProcessPoolOptions) {
    this.#modules = options.modules;
    this.#pool = new ProcessPool(options);
  }

  /** Pids of its live children. */
  get pids(): number[] {
    return this.#pool.pids;
  }

  call({ run, signal, log }: Invocation): HandlerCall {
    const module = splitFuncName(run.funcName)?.module;
    if (module === undefined || !Object.hasOwn(this.#modules, module)) {
      const why = module === undefined ? 'it has no module part' : `module '${module}' is not listed under modules:`;
      return answered({
        ok: false,
        error: new RuntimeRefusedError(
          `runtime 'process' cannot run '${run.funcName}': ${why}; child processes load handlers only from the modules listed under modules: (a handler given in code runs inline only)`,
        ),
      });
    }
    let worker: ProcessWorker | null = null;
    let abandoned = false;
    let markStarted = () => {};
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const answer = (async () => {
      try {
        worker = await this.#pool.acquire();
      } catch (error) {
        return { ok: false as const, error: error instanceof RuntimeRefusedError ? error : new RuntimeRefusedError(`runtime 'process' could not start a child: ${(error as Error).message}`, { cause: error }) };
      }
      if (abandoned) {
        // Given up on while its child was starting: nothing ran.
        void this.#pool.discard(worker);
        return { ok: false as const, error: new RuntimeRefusedError('abandoned before its child process was ready') };
      }
      const { id: runId, funcName, args, attempt, name, jobId, inputs } = run;
      const running = worker.run({ funcName, args, runId, attempt, name, jobId, inputs }, signal, log);
      markStarted();
      const result = await running;
      if (!abandoned) this.#pool.release(worker);
      return result;
    })();
    const abandon = async (): Promise<string> => {
      abandoned = true;
      const current: ProcessWorker | null = worker;
      if (current === null) return 'its child process had not started yet and is killed when it does';
      await this.#pool.discard(current);
      return `its child process (pid ${current.pid}) was killed with SIGKILL`;
    };
    return { answer, started, abandon };
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
