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

builder.scalarType('JSON', {
  description: 'Any JSON value: object, array, string, number, boolean or null (task `args` and `result`).',
  serialize: (value) => value as JsonValue,
  // Size and serialisability are checked where payloads are stored (`LIMITS.payloadBytes`).
  parseValue: (value) => value as JsonValue,
  parseLiteral: (node, variables) => jsonLiteral(node, variables),
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

function parseDateTime(value: unknown): Date {
  // Only strings with a date part: `Date` would otherwise accept numbers and odd formats.
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw badInput(`DateTime must be an ISO 8601 string such as "2024-05-01T12:00:00Z", got ${JSON.stringify(value)}`);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badInput(`DateTime "${value}" is not a valid date`);
  return date;
}
