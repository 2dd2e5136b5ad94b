// The CommonJS entry by path: Pothos builds the schema with Node's resolution of `graphql` (its
// CommonJS build), and vitest would otherwise hand this module the ESM build, whose printer
// refuses types from the other copy ("from another module or realm").
import { lexicographicSortSchema, printSchema } from 'graphql/index.js';
import { schema } from './schema/index.js';

/** The SDL as checked in under `schema/`: sorted, so the file changes only when the schema does. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
