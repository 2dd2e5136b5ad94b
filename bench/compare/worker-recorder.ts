import { RssSampler } from '../lib/rss-sampler.js';
import { epochNow, type TickSample, type WorkerReport } from './protocol.js';

/**
 * What a worker child measures about itself: handler calls, completions its library reports,
 * latency samples carried by the runs' own args (`{ t }`: the client's clock before it created
 * the run), ticks, MongoDB commands, errors and RSS. Each system's worker feeds it from its
 * handler and its library's events; `report()` is what goes back to the benchmark.
 *
 * The handler path stays cheap — a counter, a subtraction, an array push — so the measuring does
 * not slow the system measured.
 */
export class WorkerRecorder {
  readonly #rss = new RssSampler(100);
  readonly #baselineMiB: number;
  #started = 0;
  #completed = 0;
  #firstStartAt: number | null = null;
  #lastCompletionAt: number | null = null;
  readonly #createToStart: number[] = [];
  readonly #createToFinish: number[] = [];
  readonly #ticks: TickSample[] = [];
  readonly #commands = new Map<string, number>();
  #commandsBeforeFirstStart: Record<string, number> = {};
  #failedCommands = 0;
  #firstFailedCommand: string | null = null;
  #errors = 0;
  #firstError: string | null = null;

  constructor() {
    this.#baselineMiB = this.#rss.peakMiB();
  }

  get baselineMiB(): number {
    return this.#baselineMiB;
  }

  /** A handler was called with `args`; returns the epoch ms it records as the start. */
  handlerStarted(args: unknown): number {
    const now = epochNow();
    if (this.#started++ === 0) {
      this.#firstStartAt = now;
      this.#commandsBeforeFirstStart = Object.fromEntries(this.#commands);
    }
    const t = createdAt(args);
    if (t !== null) this.#createToStart.push(now - t);
    return now;
  }

  /** The library says a run completed and is stored; `finishedAt` is its stored finish time (epoch ms). */
  completed(args: unknown, finishedAt: number | null): void {
    this.#completed++;
    this.#lastCompletionAt = epochNow();
    const t = createdAt(args);
    if (t !== null && finishedAt !== null) this.#createToFinish.push(finishedAt - t);
  }

  tick(sample: TickSample): void {
    this.#ticks.push(sample);
  }

  command(name: string): void {
    this.#commands.set(name, (this.#commands.get(name) ?? 0) + 1);
  }

  commandFailed(name: string, message: string): void {
    this.#failedCommands++;
    this.#firstFailedCommand ??= `${name}: ${message}`;
  }

  error(message: string): void {
    this.#errors++;
    this.#firstError ??= message;
  }

  progress() {
    return { started: this.#started, completed: this.#completed, firstStartAt: this.#firstStartAt, lastCompletionAt: this.#lastCompletionAt };
  }

  report(): WorkerReport {
    return {
      ...this.progress(),
      createToStartMs: [...this.#createToStart],
      createToFinishMs: [...this.#createToFinish],
      ticks: [...this.#ticks],
      commands: Object.fromEntries([...this.#commands].sort(([a], [b]) => a.localeCompare(b))),
      commandsBeforeFirstStart: this.#commandsBeforeFirstStart,
      failedCommands: this.#failedCommands,
      firstFailedCommand: this.#firstFailedCommand,
      errors: this.#errors,
      firstError: this.#firstError,
      rssPeakMiB: this.#rss.overallPeakMiB(),
      rssBaselineMiB: this.#baselineMiB,
    };
  }

  close(): void {
    this.#rss.stop();
  }
}

/** `args.t` (or `data.t`) when the run carries one. */
export function createdAt(args: unknown): number | null {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return null;
  const t = (args as { t?: unknown }).t;
  return typeof t === 'number' ? t : null;
}
