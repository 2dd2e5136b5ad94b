import { isEnumType, isInputObjectType, isListType, isNonNullType, type GraphQLInputType } from 'graphql';
import { CRON_EXPRESSIONS, Chooser, DATE_TIMES, FUNC_NAMES, Lazy, forgedCursor, poolRef } from './fuzz-values.js';

/**
 * Argument values for generated operations, by input type and argument name: of the right type,
 * of the wrong type, or hostile (huge, deep, odd characters, forged cursors, invalid cron). A
 * tame generator keeps to the right types and plausible values, so its operations get past
 * validation and reach the resolvers.
 */

/** An enum value: a bare name in a literal, a string in variables. */
export class EnumValue {
  constructor(readonly name: string) {}

  toJSON(): string {
    return this.name;
  }
}

export class ArgumentValues {
  readonly #c: Chooser;
  readonly #tame: boolean;
  readonly #shards: readonly string[];

  constructor(c: Chooser, tame: boolean, shards: readonly string[]) {
    this.#c = c;
    this.#tame = tame;
    this.#shards = shards;
  }

  /** True with `percent` % chance, never for a tame operation. */
  odd(percent: number): boolean {
    return !this.#tame && this.#c.chance(percent);
  }

  /** A value for an argument (or input field) of `type` named `argName`, `level` deep in input objects and lists. */
  value(type: GraphQLInputType, argName: string, level = 0): unknown {
    const c = this.#c;
    if (isNonNullType(type)) return this.odd(3) ? null : this.value(type.ofType, argName, level);
    if (isListType(type)) {
      if (this.#tame) return Array.from({ length: 1 + c.int(2) }, () => this.value(type.ofType, argName, level + 1));
      return c.weighted<unknown>([
        [80, () => Array.from({ length: c.int(4) }, () => this.value(type.ofType, argName, level + 1))],
        [12, () => this.value(type.ofType, argName, level + 1)],
        [4, () => null],
        [2, () => Array.from({ length: 1001 + c.int(300) }, () => this.value(type.ofType, argName, level + 1))],
      ]);
    }
    if (this.odd(10)) return this.#wrong();
    if (isEnumType(type)) {
      const values = type.getValues();
      return (this.#tame || c.chance(92)) && values.length > 0 ? new EnumValue(c.pick(values).name) : new EnumValue(c.pick(['NOPE', 'pending', 'Pending', '__proto__']));
    }
    if (isInputObjectType(type)) {
      if (level > 4) return {};
      const object: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        if (isNonNullType(field.type) ? this.#tame || c.chance(95) : c.chance(this.#tame ? 20 : 35)) object[field.name] = this.value(field.type, field.name, level + 1);
      }
      if (this.odd(3)) object[c.pick(['bogus', 'funcName', '__proto__', 'constructor'])] = c.integer();
      return object;
    }
    return this.#scalar(type.name, argName);
  }

  #wrong(): unknown {
    const c = this.#c;
    return c.weighted<unknown>([
      [3, () => c.integer()],
      [3, () => c.string()],
      [2, () => c.json()],
      [1, () => true],
      [1, () => ({ a: 1 })],
      [1, () => [[1], ['x']]],
      [1, () => 1.5],
      [1, () => new Lazy('object', c.pick([30, 2000, 50_000]))],
    ]);
  }

  #scalar(scalar: string, argName: string): unknown {
    const c = this.#c;
    if (this.#tame) return this.#plausible(scalar, argName);
    switch (scalar) {
      case 'ID':
        return c.weighted<unknown>([
          [55, () => poolRef(c, argName === 'jobId' || argName === 'parentId' ? c.pick(['job', 'run'] as const) : 'run')],
          [15, () => `00000000-0000-4000-8000-${String(c.int(1_000_000)).padStart(12, '0')}`],
          [15, () => c.string()],
          [5, () => 'f'.repeat(10_000)],
          [10, () => c.integer()],
        ]);
      case 'String':
        return this.#string(argName);
      case 'Int':
        if (argName === 'first') {
          return c.weighted([
            [60, () => 1 + c.int(50)],
            [10, () => 1000],
            [10, () => 1001 + c.int(1_000_000_000)],
            [6, () => 0],
            [6, () => -1 - c.int(100)],
            [8, () => c.integer()],
          ]);
        }
        return c.weighted([
          [60, () => c.int(10)],
          [40, () => c.integer()],
        ]);
      case 'Float':
        return c.weighted([
          [50, () => c.int(100)],
          [10, () => 0],
          [10, () => -1],
          [10, () => 1e308],
          [5, () => 5e-324],
          [5, () => 0.5],
          [10, () => c.integer()],
        ]);
      case 'Boolean':
        return c.chance(50);
      case 'DateTime':
        return c.weighted([
          [50, () => new Date(Date.UTC(2024, 0, 1) + c.int(10 ** 9) * 1000).toISOString()],
          [40, () => c.pick(DATE_TIMES)],
          [10, () => c.string()],
        ]);
      case 'JSON':
        return this.#json();
      default:
        return c.string();
    }
  }

  /** A value of the right type that may well be accepted: pooled ids and names, small numbers, plain JSON. */
  #plausible(scalar: string, argName: string): unknown {
    const c = this.#c;
    switch (scalar) {
      case 'ID':
        return poolRef(c, argName === 'jobId' ? 'job' : 'run');
      case 'Int':
        return argName === 'first' ? 1 + c.int(50) : c.int(5);
      case 'Float':
        return 1 + c.int(60);
      case 'Boolean':
        return c.chance(50);
      case 'DateTime':
        return new Date(Date.now() + c.int(60) * 1000).toISOString();
      case 'JSON':
        return c.chance(50) ? c.json() : { ms: c.int(300) };
      default: {
        const tame: Readonly<Record<string, () => unknown>> = {
          funcName: () => c.pick(FUNC_NAMES.slice(0, 5)),
          name: () => c.chance(70) ? poolRef(c, 'def') : `fz_${c.int(8)}`,
          task: () => poolRef(c, 'def'),
          schedule: () => c.pick(CRON_EXPRESSIONS.slice(0, 3)),
          slug: () => poolRef(c, 'cluster'),
          cluster: () => poolRef(c, 'cluster'),
          tag: () => c.pick(['default', 'gpu']),
          after: () => poolRef(c, 'cursor'),
          group: () => poolRef(c, 'group'),
          step: () => `s${c.int(3)}`,
        };
        return tame[argName]?.() ?? `fz_${c.int(8)}`;
      }
    }
  }

  #json(): unknown {
    const c = this.#c;
    return c.weighted<unknown>([
      [45, () => c.json()],
      [10, () => ({ ms: c.int(400) })],
      [8, () => ({ $where: 'sleep(1000)', 'a.b': [[1, [2, [3]]]], __proto__x: { polluted: true }, constructor: { prototype: 1 } })],
      [6, () => new Lazy('array', c.pick([50, 500, 3000, 20_000, 200_000]))],
      [6, () => new Lazy('object', c.pick([50, 500, 3000, 20_000, 200_000]))],
      [2, () => new Lazy('string', c.pick([10_000, 1024 * 1024 + 1, 1_900_000]))],
      [8, () => c.string()],
      [5, () => null],
      [5, () => Array.from({ length: c.int(2000) }, (_, i) => i)],
      [5, () => c.integer()],
    ]);
  }

  #string(argName: string): unknown {
    const c = this.#c;
    const common: ReadonlyArray<readonly [number, () => unknown]> = [
      [15, () => c.string()],
      [3, () => new Lazy('string', c.pick([300, 5000, 100_000]))],
    ];
    const by = (specific: ReadonlyArray<readonly [number, () => unknown]>) => c.weighted([...specific, ...common]);
    switch (argName) {
      case 'funcName':
      case 'dedicatedHandler':
      case 'revert':
      case 'handler':
        return by([[80, () => c.pick(FUNC_NAMES)]]);
      case 'name':
      case 'actor':
      case 'task':
        return by([
          [50, () => poolRef(c, 'def')],
          [30, () => `fz_${c.int(8)}`],
        ]);
      case 'schedule':
        return by([
          [70, () => c.pick(CRON_EXPRESSIONS)],
          [12, () => Array.from({ length: 5 + c.int(3) }, () => c.pick(['*', '*/2', '0', '1-5', '7', '60', 'MON', '?', 'L', c.string()])).join(' ')],
        ]);
      case 'slug':
      case 'cluster':
        return by([
          [50, () => poolRef(c, 'cluster')],
          [20, () => 'default'],
          [10, () => `no-such-${c.int(9)}`],
        ]);
      case 'tag':
        return by([[80, () => c.pick(['default', 'gpu', '$args[region]', '$args[', '$args[]', 'a b', 'x'.repeat(101)])]]);
      case 'after':
        return by([
          [45, () => poolRef(c, 'cursor')],
          [40, () => forgedCursor(c, this.#shards)],
        ]);
      case 'group':
      case 'workerGroup':
        return by([[70, () => poolRef(c, 'group')]]);
      case 'step':
        return by([[80, () => c.pick(['s0', 's1', 's2', ''])]]);
      case 'initCommand':
        return by([[80, () => c.pick(['echo hi', 'x'.repeat(9000), 'exit 1'])]]);
      default:
        return by([
          [40, () => `fz_${c.int(8)}`],
          [20, () => poolRef(c, 'def')],
        ]);
    }
  }
}
