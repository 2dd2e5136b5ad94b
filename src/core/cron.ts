import { validateDetailed } from 'node-cron';

/**
 * Cron expressions as the Tarantool task manager writes them: six fields with seconds first
 * (`*\/5 * * * * *`). Five-field expressions are accepted too and fire at second 0.
 *
 * Returns null when `expression` is valid, or a message a person can act on.
 */
export function cronProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    return `'${expression}' has ${fields.length} field(s); a schedule needs 6 (second minute hour day-of-month month day-of-week) or 5`;
  }
  const result = validateDetailed(expression);
  if (result.valid) return null;
  const details = result.errors.map((e) => `${e.field}${e.value !== undefined ? ` '${e.value}'` : ''}: ${e.message}`);
  return `'${expression}' is not a valid cron expression (${details.join('; ') || 'unparseable'})`;
}
