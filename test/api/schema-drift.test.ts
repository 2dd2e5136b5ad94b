import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { printSortedSchema } from '../../src/api/print-schema.js';

/** The checked-in SDL is what clients and reviewers read: it must be what the code serves. */
describe('schema/schema.graphql', () => {
  it('matches the schema the code builds', () => {
    const file = fileURLToPath(new URL('../../schema/schema.graphql', import.meta.url));
    const checkedIn = readFileSync(file, 'utf8');
    const current = printSortedSchema();
    if (checkedIn !== current) {
      expect.fail('schema/schema.graphql is out of date with src/api/schema: run `npm run schema` and commit the result');
    }
  });
});
