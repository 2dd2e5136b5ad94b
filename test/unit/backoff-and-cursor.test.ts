import { describe, expect, it } from 'vitest';
import { hasAttemptsLeft, retryDelaySeconds } from '../../src/core/backoff.js';
import { coerceError } from '../../src/core/errors.js';
import { decodeCursor, encodeCursor } from '../../src/storage/page-cursor.js';

describe('retry backoff', () => {
  it('waits delay * factor^(attempt-1)', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(8, 1.5, attempt))).toEqual([8, 12, 18, 27]);
    expect([1, 2, 3].map((attempt) => retryDelaySeconds(60, 1, attempt))).toEqual([60, 60, 60]);
    expect([1, 2, 3].map((attempt) => retryDelaySeconds(0.2, 2, attempt))).toEqual([0.2, 0.4, 0.8]);
  });

  it('allows attempts up to maxAttempts', () => {
    expect(hasAttemptsLeft(4, 5)).toBe(true);
    expect(hasAttemptsLeft(5, 5)).toBe(false);
  });
});

describe('page cursors', () => {
  it('round-trips shard positions', () => {
    const positions = new Map([
      ['shard-0', [1_700_000_000_000, '7b0f8a56-3d0e-4b8c-9f2f-1a2b3c4d5e6f'] as const],
      ['shard-1', null],
    ]);
    expect(decodeCursor(encodeCursor(positions))).toEqual(positions);
  });

  it.each([
    ['', 'malformed'],
    ['x'.repeat(20_000), 'malformed'],
    ['not base64!', 'malformed'],
    [Buffer.from('{"v":2,"p":{}}').toString('base64url'), 'unknown version'],
    [Buffer.from('[1,2]').toString('base64url'), 'unknown version'],
    [Buffer.from('{"v":1,"p":[]}').toString('base64url'), 'no positions'],
    [Buffer.from('{"v":1,"p":{"s":[1.5,"7b0f8a56-3d0e-4b8c-9f2f-1a2b3c4d5e6f"]}}').toString('base64url'), 'bad position'],
  ])('refuses %j (%s)', (cursor, why) => {
    expect(() => decodeCursor(cursor)).toThrow(new RegExp(`after: is not a valid cursor \\(${why}`));
  });
});

describe('coerceError', () => {
  it('keeps Errors and wraps anything else', () => {
    const error = new TypeError('x');
    expect(coerceError(error)).toBe(error);
    expect(coerceError('text').message).toBe('text');
    expect(coerceError({ code: 7 })).toMatchObject({ name: 'NonError', message: 'non-Error thrown: {"code":7}' });
    expect(coerceError(undefined).message).toBe('non-Error thrown: undefined');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(coerceError(cyclic).message).toBe('non-Error thrown: [object Object]');
  });
});
