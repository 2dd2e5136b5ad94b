import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import { Kind, type ValueNode } from 'graphql';
import { createGraphQLError } from 'graphql-yoga';
import type { JsonValue } from '../core/types.js';
import type { ApiContext } from './context.js';

/**
 * The Pothos schema builder: plugins, scalars and the context type. It defines no domain types;
 * those live one per file under `schema/`, and `schema/index.ts` assembles them.
 */
export const builder = new SchemaBuilder<{
  Context: ApiContext;
  // Fields are non-null unless they say `nullable: true`: a null then always means something.
  DefaultFieldNullability: false;
  Scalars: {
    JSON: { Input: JsonValue; Output: JsonValue };
    DateTime: { Input: Date; Output: Date };
  };
}>({
  plugins: [DataloaderPlugin],
  defaultFieldNullability: false,
});

function badInput(message: string) {
  return createGraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

/** A literal written in the query text, turned into the JSON value it spells. */
function jsonLiteral(node: ValueNode, variables: Record<string, unknown> | null | undefined): JsonValue {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return node.values.map((value) => jsonLiteral(value, variables));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((field) => [field.name.value, jsonLiteral(field.value, variables)]));
    case Kind.VARIABLE:
      return (variables?.[node.name.value] ?? null) as JsonValue;
    case Kind.ENUM:
      throw badInput(`JSON cannot hold the bare name ${node.value}; quote it as a string`);
  }
}

/**
 * How deep a JSON argument may nest. Payloads are encoded with JSON.stringify, which recurses:
 * a value nested some thousands deep (a 2 MiB body holds 500,000 levels) overflowed the stack in
 * the middle of a request and came back as INTERNAL. No task needs a tenth of this depth.
 */
export const MAX_JSON_DEPTH = 100;

/** Whether `value` nests deeper than `MAX_JSON_DEPTH` (iterative: the check itself cannot overflow). */
function tooDeep(value: unknown): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) return true;
    for (const item of Array.isArray(current) ? current : Object.values(current)) stack.push([item, depth + 1]);
  }
  return false;
}

function checkedJson(value: unknown): JsonValue {
  if (tooDeep(value)) throw badInput(`JSON nests deeper than ${MAX_JSON_DEPTH} levels; flatten it`);
  return value as JsonValue;
}

builder.scalarType('JSON', {
  description: 'Any JSON value: object, array, string, number, boolean or null (task `args` and `result`).',
  serialize: (value) => value as JsonValue,
  // Size and serialisability are checked where payloads are stored (`LIMITS.payloadBytes`).
  parseValue: (value) => checkedJson(value),
  parseLiteral: (node, variables) => checkedJson(jsonLiteral(node, variables)),
});

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO 8601 string in UTC (`2024-05-01T12:00:00.000Z`).',
  serialize: (value) => {
    const date = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(date.getTime())) throw createGraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING) throw badInput('DateTime must be an ISO 8601 string such as "2024-05-01T12:00:00Z"');
    return parseDateTime(node.value);
  },
});

/** What a client sent, briefly: quoting the value itself could echo megabytes, or recurse past the stack. */
function described(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 100));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : `an ${typeof value}`;
}

function parseDateTime(value: unknown): Date {
  // Only strings with a date part: `Date` would otherwise accept numbers and odd formats.
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw badInput(`DateTime must be an ISO 8601 string such as "2024-05-01T12:00:00Z", got ${described(value)}`);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badInput(`DateTime ${JSON.stringify(value.slice(0, 100))} is not a valid date`);
  return date;
}
