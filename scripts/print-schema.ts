import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSortedSchema } from '../src/api/print-schema.js';

/**
 * Writes the GraphQL SDL, sorted, to `schema/schema.graphql` (`npm run schema`). The file is
 * checked in; `test/api/schema-drift.test.ts` fails when it differs from the code.
 */
const target = fileURLToPath(new URL('../schema/schema.graphql', import.meta.url));
writeFileSync(target, printSortedSchema());
console.log(`wrote ${target}`);
