/**
 * Handlers of the node the GraphQL fuzz test drives (`fuzz.echo`, `fuzz.fail`, `fuzz.slow`,
 * `fuzz.spawn`). The fuzz sends arbitrary `args`, so none of them touches the file system or
 * trusts its args beyond reading a number: they only return, throw, wait or spawn.
 */

interface Ctx {
  readonly signal: AbortSignal;
  spawn(funcName: string, args?: unknown): string;
}

/** Returns its args, so a completed run's result is whatever the fuzz sent. */
export function echo(args: unknown): unknown {
  return args ?? null;
}

/** Throws: failed runs (and retries when the fuzz asked for attempts). */
export function fail(): never {
  throw new Error('fuzz.fail always fails');
}

/** Waits up to 2 s (`args.ms` when it is a small number), giving up when its signal fires. */
export async function slow(args: unknown, ctx: Ctx): Promise<string> {
  const asked = (args as { ms?: unknown } | null)?.ms;
  const ms = typeof asked === 'number' && asked >= 0 && asked <= 2000 ? asked : 300;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('stopped'))), { once: true });
  });
  return 'slept';
}

/** Spawns one `fuzz.echo` subtask: a job with a follow-up, which a half-done write would leave behind. */
export function spawn(args: unknown, ctx: Ctx): string {
  ctx.spawn('fuzz.echo', args ?? null);
  return 'spawned';
}
