import {
  getNamedType,
  isInterfaceType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLInterfaceType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { ArgumentValues, EnumValue } from './fuzz-arguments.js';
import { Chooser, Lazy } from './fuzz-values.js';

/**
 * Random GraphQL operations over the real schema (read from the live node by introspection):
 * queries, mutations and subscriptions with arguments of the right type, the wrong type, or
 * hostile values; deep chains, wide aliased selections, fragments, directives, variables
 * (declared right or wrong), and now and then a broken document. Every decision comes from the
 * `Chooser`, so a request shrinks with its tape.
 */

export type OperationType = 'query' | 'mutation' | 'subscription';

export interface GeneratedOperation {
  readonly type: OperationType;
  readonly document: string;
  readonly variables: Record<string, unknown> | undefined;
  readonly operationName: string | undefined;
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
/**
 * Fields picked at 15 % of the usual rate, to keep a run within its time. `auditLog` reads the
 * whole audit collection on every call (catalog `listAudit`: find all, sort, slice), so with the
 * ~2,000 entries a run writes each call took 9–14 s on FerretDB and the run twice as long.
 */
const SLOW_FIELDS = new Set(['auditLog']);
type Composite = GraphQLObjectType | GraphQLInterfaceType;

export function generateOperation(schema: GraphQLSchema, c: Chooser, shards: readonly string[]): GeneratedOperation {
  return new OperationBuilder(schema, c, shards).build();
}

class OperationBuilder {
  readonly #schema: GraphQLSchema;
  readonly #c: Chooser;
  readonly #values: ArgumentValues;
  readonly #varDefinitions: string[] = [];
  readonly #variables: Record<string, unknown> = {};
  readonly #fragments: string[] = [];
  /** A tame operation has arguments of the right types and plausible values, so it reaches the resolvers. */
  readonly #tame: boolean;

  constructor(schema: GraphQLSchema, c: Chooser, shards: readonly string[]) {
    this.#schema = schema;
    this.#c = c;
    this.#tame = c.chance(40);
    this.#values = new ArgumentValues(c, this.#tame, shards);
  }

  /** True with `percent` % chance, never in a tame operation. */
  #odd(percent: number): boolean {
    return this.#values.odd(percent);
  }

  build(): GeneratedOperation {
    const c = this.#c;
    const type = c.weighted<OperationType>([
      [65, () => 'query'],
      [28, () => 'mutation'],
      [7, () => 'subscription'],
    ]);
    const root = type === 'query' ? this.#schema.getQueryType() : type === 'mutation' ? this.#schema.getMutationType() : this.#schema.getSubscriptionType();
    if (!root) throw new Error(`the schema has no ${type} type`);
    const depth = c.weighted([
      [75, () => 1 + c.int(3)],
      [18, () => 4 + c.int(6)],
      [7, () => 12 + c.int(40)],
    ]);
    const selection = this.#selection(root, depth, type === 'subscription' ? 1 : 1 + c.int(3));
    const name = c.chance(25) ? c.pick(['Fuzz', 'query', 'mutation', 'Other', 'x'.repeat(300)]) : undefined;
    const header = `${type}${name ? ` ${name}` : ''}${this.#varDefinitions.length > 0 ? `(${this.#varDefinitions.join(', ')})` : ''}`;
    const bare = type === 'query' && !name && this.#varDefinitions.length === 0 && c.chance(40);
    let document = `${bare ? '' : `${header} `}${selection}${this.#fragments.map((f) => `\n${f}`).join('')}`;
    if (this.#odd(4)) document += '\nquery Other { __typename }';
    document = this.#maybeBreak(document);
    const operationName = c.weighted<string | undefined>([
      [90, () => name],
      [5, () => 'Other'],
      [5, () => 'Missing'],
    ]);
    const variables = this.#varDefinitions.length > 0 || c.chance(5) ? this.#variables : undefined;
    return { type, document, variables, operationName };
  }

  /** Sometimes the document is broken on purpose: cut, padded, or replaced. */
  #maybeBreak(document: string): string {
    const c = this.#c;
    if (!this.#odd(6)) return document;
    return c.weighted([
      [3, () => document.slice(0, c.int(document.length))],
      [2, () => `${document}${c.pick(['}', '{', '"', '#', '\u0000', '$', '...', '@'])}`],
      [1, () => c.string()],
      [1, () => `${document.slice(0, c.int(document.length))}${c.string()}${document.slice(c.int(document.length))}`],
    ]);
  }

  #selection(type: Composite, depth: number, count: number): string {
    const c = this.#c;
    const fields = Object.values(type.getFields());
    const wide = this.#odd(5);
    const used = new Set<string>();
    const n = wide ? c.weighted([[2, () => 5 + c.int(25)], [1, () => 31 + c.int(150)]]) : count;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) {
      if (!wide && c.chance(3)) parts.push(`... on ${type.name} ${this.#selection(type, depth, 1)}`);
      else if (!wide && c.chance(2)) {
        const fragment = `F${this.#fragments.length}`;
        this.#fragments.push(`fragment ${fragment} on ${type.name} ${this.#selection(type, depth, 1)}`);
        parts.push(`...${fragment}`);
      } else {
        // Deep requests follow object fields, so nesting actually happens.
        const objects = fields.filter((f) => isComposite(getNamedType(f.type)));
        let field = depth > 2 && objects.length > 0 && c.chance(80) ? c.pick(objects) : c.pick(fields);
        if (SLOW_FIELDS.has(field.name) && !c.chance(15)) field = c.pick(fields.filter((f) => !SLOW_FIELDS.has(f.name)));
        // The same field twice needs an alias (else validation refuses the pair, which is not what this tests).
        const alias = wide || used.has(field.name) || c.chance(8) ? `a${i}` : null;
        used.add(field.name);
        parts.push(this.#field(field, wide ? Math.min(depth, 1) : depth - 1, alias));
      }
    }
    if (c.chance(3)) parts.push('__typename');
    if (this.#odd(1)) parts.push(c.pick(['nope', 'id', '__schema { queryType { name } }', '__type(name: "Task") { name fields { name } }']));
    return `{ ${parts.join(' ')} }`;
  }

  #field(field: GraphQLField<unknown, unknown>, depth: number, alias: string | null): string {
    const c = this.#c;
    const args = field.args
      .filter((arg) => (isNonNullType(arg.type) ? this.#tame || c.chance(95) : c.chance(this.#tame ? 25 : 40)))
      .map((arg) => `${arg.name}: ${this.#argument(arg.type, arg.name)}`);
    if (this.#odd(2)) args.push(`bogus: ${c.int(3)}`);
    let text = `${alias ? `${alias}: ` : ''}${field.name}${args.length > 0 ? `(${args.join(', ')})` : ''}`;
    if (this.#odd(2)) {
      text += c.weighted([
        [3, () => ' @include(if: true)'],
        [2, () => ' @skip(if: false)'],
        [1, () => ' @skip(if: "yes")'],
        [1, () => ' @nope'],
        [1, () => ' @include(if: true)'.repeat(51 + c.int(100))],
      ]);
    }
    const named = getNamedType(field.type);
    if (isComposite(named)) return `${text} ${depth <= 0 ? `{ ${leafOf(named, c)} }` : this.#selection(named, depth, 1 + c.int(depth > 3 ? 1 : 3))}`;
    if (isUnionType(named)) return `${text} { __typename }`;
    return this.#odd(2) ? `${text} { id }` : text;
  }

  /** An argument's text: a literal, or a variable (declared with its type, or now and then a wrong one). */
  #argument(type: GraphQLInputType, argName: string): string {
    const c = this.#c;
    const value = this.#values.value(type, argName);
    if (c.chance(70) && literalable(value)) return literal(value, c);
    const name = `v${this.#varDefinitions.length}`;
    const declared = this.#tame || c.chance(92) ? String(type) : c.pick(['Int', 'String!', 'JSON', 'Boolean', '[ID!]!', 'NoSuchType', 'TaskStatus', 'TaskFilter']);
    this.#varDefinitions.push(`$${name}: ${declared}`);
    if (!this.#odd(4)) this.#variables[name] = value;
    return `$${name}`;
  }
}

function isComposite(type: unknown): type is Composite {
  return isObjectType(type) || isInterfaceType(type);
}

/** A field to end a selection with: a scalar without required arguments, else `__typename`. */
function leafOf(type: Composite, c: Chooser): string {
  const leaves = Object.values(type.getFields()).filter((f) => !isComposite(getNamedType(f.type)) && !isUnionType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)));
  return leaves.length > 0 ? c.pick(leaves).name : '__typename';
}

/** Whether `value` can be written as a GraphQL literal (object keys must be names). */
function literalable(value: unknown): boolean {
  if (value instanceof Lazy || value instanceof EnumValue || value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(literalable);
  return Object.entries(value).every(([key, item]) => NAME.test(key) && literalable(item));
}

function literal(value: unknown, c: Chooser): string {
  if (value instanceof EnumValue) return value.name;
  if (value instanceof Lazy) {
    if (value.shape === 'string') return `"${'x'.repeat(value.size)}"`;
    return value.shape === 'array' ? `${'['.repeat(value.size)}0${']'.repeat(value.size)}` : `${'{a: '.repeat(value.size)}0${'}'.repeat(value.size)}`;
  }
  if (value === null) return 'null';
  if (typeof value === 'string') return c.chance(5) && !value.includes('"""') && !value.includes('\\') ? `"""${value}"""` : JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '0';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((item) => literal(item, c)).join(', ')}]`;
  return `{${Object.entries(value as object).map(([key, item]) => `${key}: ${literal(item, c)}`).join(', ')}}`;
}
