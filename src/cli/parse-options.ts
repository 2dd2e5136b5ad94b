import { InvalidArgumentError } from 'commander';
import { RUN_STATUSES } from '../core/types.js';
import { UsageError } from './usage-error.js';

/** Option values as the API wants them; a bad one is a usage error (exit 2) naming the option. */

export function jsonOption(option: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${option}: not valid JSON (${(error as Error).message}); quote it for the shell, e.g. ${option} '{"a": 1}'`);
  }
}

/** A commander argParser for whole numbers. */
export function integer(text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new InvalidArgumentError('must be a whole number.');
  return Number(text);
}

/** A commander argParser for numbers (seconds may be fractional). */
export function number(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError('must be a number.');
  return value;
}

/** The `TaskStatus` enum names, from any spelling: `completed`, `did not start`, `DID_NOT_START`. */
export function statusList(text: string): string[] {
  const known = RUN_STATUSES.map((status) => status.toUpperCase().replace(/ /g, '_'));
  return text.split(',').map((part) => {
    const name = part.trim().toUpperCase().replace(/[ -]/g, '_');
    if (!known.includes(name)) throw new InvalidArgumentError(`'${part.trim()}' is not a status (${known.join(', ')}).`);
    return name;
  });
}
