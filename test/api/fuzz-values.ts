import fc from 'fast-check';

/**
 * The raw material of the GraphQL fuzz test: a choice tape, atoms drawn by fast-check, hostile
 * values (cron expressions, forged cursors, odd strings), and a JSON writer for values too deep
 * or too large to build as objects.
 *
 * A request is built by plain code that asks a `Chooser` for its decisions. The decisions come
 * from a tape of numbers that fast-check generates and shrinks: a shorter tape, or smaller
 * numbers, give simpler requests (choice 0 is always the plainest option), so a failing request
 * shrinks toward a small one without a hand-written shrinker.
 */

/** Strings, JSON values and numbers drawn by fast-check for one request. */
export interface Atoms {
  readonly strings: readonly string[];
  readonly json: readonly unknown[];
  readonly ints: readonly number[];
}

export const atomsArbitrary: fc.Arbitrary<Atoms> = fc.record({
  strings: fc.array(
    fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: fc.constantFrom('\u0000', '\u0001', '\u001b', '\n', '\r', '\t', '\u007f', '\u2028', '\u202e', '\ufeff', '\ud800', '\udfff', '"', '\\', '$', '.', '{', '}'), maxLength: 8 }),
    ),
    { maxLength: 6 },
  ),
  json: fc.array(fc.jsonValue({ maxDepth: 4 }), { maxLength: 3 }),
  ints: fc.array(fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1, 999, 1000, 1001, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, -(2 ** 53))), { maxLength: 4 }),
});

export class Chooser {
  readonly #tape: readonly number[];
  #at = 0;
  readonly atoms: Atoms;

  constructor(tape: readonly number[], atoms: Atoms) {
    this.#tape = tape;
    this.atoms = atoms;
  }

  /** 0 ≤ n < max; 0 once the tape is used up. */
  int(max: number): number {
    if (max <= 1) return 0;
    const next = this.#tape[this.#at++];
    return next === undefined ? 0 : next % max;
  }

  /** True with `percent` % chance (false once the tape is used up). */
  chance(percent: number): boolean {
    return this.int(100) >= 100 - percent;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** One of `options` by weight; the first one is what an exhausted tape gives. */
  weighted<T>(options: ReadonlyArray<readonly [number, () => T]>): T {
    const total = options.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.int(total);
    for (const [weight, make] of options) {
      if (roll < weight) return make();
      roll -= weight;
    }
    return options[0]![1]();
  }

  string(): string {
    return this.atoms.strings.length === 0 ? '' : this.pick(this.atoms.strings);
  }

  json(): unknown {
    return this.atoms.json.length === 0 ? null : this.pick(this.atoms.json);
  }

  integer(): number {
    return this.atoms.ints.length === 0 ? 0 : this.pick(this.atoms.ints);
  }
}

/**
 * A JSON value written lazily: `depth` nested arrays or objects, or a string of `length`
 * characters. Built as text by `writeJson`, so the test process never holds (or recurses into)
 * a 100,000-deep structure.
 */
export class Lazy {
  constructor(
    readonly shape: 'array' | 'object' | 'string',
    readonly size: number,
  ) {}
}

/** JSON text of `value`, with `Lazy` parts expanded. Iterative over `Lazy`, recursive only over the small rest. */
export function writeJson(value: unknown): string {
  if (value instanceof Lazy) {
    if (value.shape === 'string') return `"${'x'.repeat(value.size)}"`;
    return value.shape === 'array' ? `${'['.repeat(value.size)}0${']'.repeat(value.size)}` : `${'{"a":'.repeat(value.size)}0${'}'.repeat(value.size)}`;
  }
  if (Array.isArray(value)) return `[${value.map(writeJson).join(',')}]`;
  if (typeof (value as { toJSON?: unknown } | null)?.toJSON === 'function') return writeJson((value as { toJSON(): unknown }).toJSON());
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}:${writeJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** `value` as a short, printable description for failure reports. */
export function preview(value: unknown, max = 600): string {
  const text = typeof value === 'string' ? value : writeJson(value);
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

export const CRON_EXPRESSIONS = [
  '*/5 * * * * *',
  '0 0 * * * *',
  '* * * * *',
  '61 * * * * *',
  '* * * * * * *',
  '*/0 * * * * *',
  '* * * 31 2 *',
  '59-0 * * * * *',
  '1-2-3 * * * * *',
  'L * * * * *',
  '@yearly',
  '',
  ' ',
  '*',
  '0 0 0 0 0 0',
  '-1 * * * * *',
  '* * * * * 8',
  '* * * * JAN-FOO *',
  '1,,2 * * * * *',
  '*/1000000000000 * * * * *',
  `${'1,'.repeat(5000)}1 * * * * *`,
  '\u0000 * * * * *',
  '٣ * * * * *',
];

export const FUNC_NAMES = ['fuzz.echo', 'fuzz.fail', 'fuzz.slow', 'fuzz.spawn', 'nobody.home', 'fuzz', 'fuzz.', '.echo', 'fuzz.__proto__', 'constructor.prototype', 'a.b.c.d', '$x.$y', 'fuzz.echo ', 'x'.repeat(201)];

export const DATE_TIMES = ['2024-05-01T12:00:00Z', '2999-01-01T00:00:00.000Z', '1970-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2024-02-30T00:00:00Z', '2024-13-01', 'yesterday', '', '+275760-09-13T00:00:00Z', '2024-05-01T12:00:00+25:00'];

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** Cursors: real ones come from the pool (`@@cursor:n@@`); these are forged or broken. */
export function forgedCursor(c: Chooser, shards: readonly string[]): string {
  const shard = shards.length > 0 ? c.pick(shards) : 'shard-0';
  const id = '00000000-0000-4000-8000-000000000000';
  return c.weighted<string>([
    [3, () => b64(JSON.stringify({ v: 1, p: { [shard]: [Date.now(), id] } }))],
    [2, () => b64(JSON.stringify({ v: 1, p: { [shard]: [c.pick([8.64e15 + 1, 9007199254740991, -9007199254740991, -1, 0, 1.5]), id] } }))],
    [2, () => b64(JSON.stringify({ v: 1, p: { [shard]: [Date.now(), c.pick(['x', '', id.toUpperCase(), `${id}\u0000`])] } }))],
    [2, () => b64(JSON.stringify({ v: 1, p: { nowhere: null, [c.string()]: [1, id] } }))],
    [1, () => b64(`{"v":1,"p":{"__proto__":[1,"${id}"],"constructor":null}}`)],
    [1, () => b64(JSON.stringify({ v: 1, p: {} }))],
    [1, () => b64(JSON.stringify({ v: 1, p: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`s${i}`, null])) }))],
    [1, () => b64(JSON.stringify({ v: 2, p: {} }))],
    [1, () => b64(JSON.stringify({ v: 1, p: [] }))],
    [1, () => b64(writeJson(c.json()))],
    [1, () => b64(c.string())],
    [1, () => c.string()],
    [1, () => 'A'.repeat(17 * 1024)],
    [1, () => '=='],
  ]);
}

/** Names that exist in the node (filled in by the test before it sends): `@@<pool>:<n>@@` in a request. */
export type PoolName = 'run' | 'job' | 'def' | 'cluster' | 'cursor' | 'group';

export function poolRef(c: Chooser, pool: PoolName): string {
  return `@@${pool}:${c.int(64)}@@`;
}
