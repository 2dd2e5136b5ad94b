/**
 * How the CLI prints: aligned tables and plain values for people, JSON with `--json` for
 * programs. Everything goes through one `Output`, so each command states what it shows once.
 */

export interface Output {
  readonly json: boolean;
  /** A single value (an id, a slug); `--json` prints `data` instead. */
  value(text: string, data: unknown): void;
  /** Rows under headers; `--json` prints `data` instead. */
  table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, data: unknown): void;
  /** `field  value` lines; `--json` prints `data` instead. */
  fields(pairs: ReadonlyArray<readonly [string, string]>, data: unknown): void;
  /** A hint for people (next page, what changed); never in `--json` output. */
  note(text: string): void;
}

export function createOutput(json: boolean, write: (text: string) => void = (text) => process.stdout.write(text), writeNote: (text: string) => void = (text) => process.stderr.write(text)): Output {
  const printJson = (data: unknown) => write(`${JSON.stringify(data, null, 2)}\n`);
  return {
    json,
    value: (text, data) => (json ? printJson(data) : write(`${text}\n`)),
    table: (headers, rows, data) => (json ? printJson(data) : write(formatTable(headers, rows))),
    fields: (pairs, data) => (json ? printJson(data) : write(formatFields(pairs))),
    note: (text) => {
      if (!json) writeNote(`${text}\n`);
    },
  };
}

/** Cells longer than this are cut with `…` (a full result is one `task get` or `--json` away). */
const MAX_CELL = 60;

export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cells = rows.map((row) => headers.map((_, index) => clip(row[index] ?? '')));
  const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => row[index]!.length)));
  const line = (row: readonly string[]) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

function formatFields(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`.trimEnd()).join('\n') + '\n';
}

function clip(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  return flat.length > MAX_CELL ? `${flat.slice(0, MAX_CELL - 1)}…` : flat;
}

/** An ISO time without milliseconds (`2026-05-01T10:00:00Z`); `-` for none. */
export function time(iso: string | null | undefined): string {
  return iso ? iso.replace(/\.\d+Z$/, 'Z') : '-';
}

/** A JSON value as one line; `-` for null. */
export function jsonCell(value: unknown): string {
  return value === null || value === undefined ? '-' : typeof value === 'string' ? value : JSON.stringify(value);
}
