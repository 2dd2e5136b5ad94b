/**
 * Finds where a value stops being JSON, so a handler's author reads "BigInt at $.a.b" instead of
 * a bare "Do not know how to serialize a BigInt" or, worse, a result that JSON.stringify quietly
 * changed.
 *
 * The rule, for a handler's result (and a log line's data):
 * - refused: BigInt, Symbol, functions, NaN and ±Infinity (JSON would write null), circular
 *   references, and objects JSON turns into `{}` and so loses (Map, Set, WeakMap, WeakSet,
 *   Promise — usually a missing `await` —, Error, RegExp, ArrayBuffer and typed arrays);
 * - kept as JSON keeps them: `undefined` object properties are left out, `undefined` array
 *   items become null, and objects with `toJSON` (Date) are checked as what `toJSON` returns.
 *   A top-level `undefined` result is recorded as null by the runner before this check.
 * Shared (non-circular) references are fine: JSON writes them twice.
 */

/** Objects JSON.stringify turns into `{}` (or drops the contents of) without a word. */
const LOSSY: ReadonlyArray<[abstract new (...args: never[]) => unknown, string]> = [
  [Map, 'Map'],
  [Set, 'Set'],
  [WeakMap, 'WeakMap'],
  [WeakSet, 'WeakSet'],
  [Promise, 'Promise (a missing await?)'],
  [Error, 'Error object'],
  [RegExp, 'RegExp'],
  [ArrayBuffer, 'ArrayBuffer'],
];

/** What is not JSON and where (`BigInt at $.a.b`), or null when `value` is JSON as it is. */
export function nonJsonProblem(value: unknown): string | null {
  // Iterative, so a deeply nested value cannot overflow the stack; an `exit` frame takes an
  // object off the current path once its children are checked (that is how cycles are found).
  const onPath = new Set<object>();
  const stack: Array<{ value: unknown; path: string; exit?: true }> = [{ value, path: '$' }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.exit) {
      onPath.delete(frame.value as object);
      continue;
    }
    let current = frame.value;
    if (current !== null && typeof current === 'object' && typeof (current as { toJSON?: unknown }).toJSON === 'function') {
      try {
        current = (current as { toJSON(): unknown }).toJSON();
      } catch (error) {
        return `toJSON() threw (${error instanceof Error ? error.message : String(error)}) at ${frame.path}`;
      }
    }
    const problem = problemOf(current);
    if (problem) return `${problem} at ${frame.path}`;
    if (current === null || typeof current !== 'object') continue;
    if (onPath.has(current)) return `circular reference at ${frame.path}`;
    onPath.add(current);
    stack.push({ value: current, path: frame.path, exit: true });
    // Pushed in reverse, so the first offending entry in reading order is the one reported.
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) {
        if (current[i] !== undefined) stack.push({ value: current[i], path: `${frame.path}[${i}]` });
      }
    } else {
      const keys = Object.keys(current);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const child = (current as Record<string, unknown>)[key];
        if (child !== undefined) stack.push({ value: child, path: `${frame.path}${pathKey(key)}` });
      }
    }
  }
  return null;
}

function problemOf(value: unknown): string | null {
  switch (typeof value) {
    case 'bigint':
      return 'BigInt';
    case 'symbol':
      return 'Symbol';
    case 'function':
      return 'function';
    case 'number':
      return Number.isFinite(value) ? null : String(value);
    case 'object': {
      if (value === null) return null;
      if (ArrayBuffer.isView(value)) return value.constructor.name;
      for (const [type, name] of LOSSY) if (value instanceof type) return name;
      return null;
    }
    default:
      return null;
  }
}

function pathKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}
