/** How values read on screen: statuses with the Tarantool task manager's words, times, payloads. */

/** Enum value → label and the `statistics` field that counts it, in the order screens list them. */
export const STATUSES = [
  { value: 'PENDING', label: 'pending', field: 'pending' },
  { value: 'RUNNING', label: 'running', field: 'running' },
  { value: 'COMPLETED', label: 'completed', field: 'completed' },
  { value: 'FAILED', label: 'failed', field: 'failed' },
  { value: 'LOST', label: 'lost', field: 'lost' },
  { value: 'STOPPED', label: 'stopped', field: 'stopped' },
  { value: 'DID_NOT_START', label: 'did not start', field: 'didNotStart' },
  { value: 'UNKNOWN_TASK', label: 'unknown task', field: 'unknownTask' },
];

/** Statuses a run leaves only through `retry` (or `forget`). */
export const FINAL = new Set(['COMPLETED', 'FAILED', 'LOST', 'STOPPED', 'DID_NOT_START', 'UNKNOWN_TASK']);

export const COUNT_FIELDS = `${STATUSES.map((s) => s.field).join(' ')} total`;

export function statusLabel(value) {
  return STATUSES.find((s) => s.value === value)?.label ?? String(value ?? '').toLowerCase().replace(/_/g, ' ');
}

/** `SINGLE_SHOT` → `single shot`. */
export function enumLabel(value) {
  return String(value ?? '').toLowerCase().replace(/_/g, ' ');
}

const pad = (n) => String(n).padStart(2, '0');

/** `2024-05-01 12:00:03` in the browser's time zone; the full ISO instant goes in a tooltip. */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `3 s ago`, `in 2 min`. */
export function relativeTime(iso, now = Date.now()) {
  if (!iso) return '';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 1) return 'now';
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.round(abs / 60)} min` : abs < 86400 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} d`;
  return seconds <= 0 ? `${text} ago` : `in ${text}`;
}

/** `1.25 s`, `3 min 4 s`, between two instants (or until now when `to` is empty). */
export function duration(from, to) {
  if (!from) return '';
  const ms = (to ? new Date(to).getTime() : Date.now()) - new Date(from).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return minutes < 60 ? `${minutes} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A payload on one line, cut to `max` characters. */
export function jsonPreview(value, max = 80) {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function jsonPretty(value) {
  return value === undefined ? '' : JSON.stringify(value, null, 2);
}

export const shortId = (id) => String(id ?? '').slice(0, 8);
