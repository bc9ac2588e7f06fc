/**
 * Amounts in words, the same in every front end (the CLI's tables, the UI) and in the
 * engine's messages: one convention, defined once.
 *
 * Sizes of data are decimal (1 kB = 1000 bytes, as file managers and disk labels count):
 * "0 bytes", "1 byte", "999 bytes", "1.5 kB", "48 MB". Settings that are powers of two (the
 * segment size, a 64 KiB probe) read better in binary units: formatBinary.
 *
 * Plain TypeScript: no Node, no DOM (the layer rule in eslint.config.js).
 */

const UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB', 'PB'];

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  if (bytes < 1000) return `${Math.round(bytes)} ${Math.round(bytes) === 1 ? 'byte' : 'bytes'}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  // 999.95 kB would round to "1000 kB": say "1.0 MB" instead.
  if (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number | null): string {
  return bytesPerSecond === null ? '—' : `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Sizes that are powers of two (segment sizes) read better in binary units. */
export function formatBinary(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
}

/** How long ago, in words; "never" for null. */
export function formatRelative(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  // Seconds, never "just now": beside "Offline" that reads as if the location were there.
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

/** "1 location", "2 locations", "0 locations". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** A duration in words a person reads at a glance (the UI's transfers, the CLI's time left). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 1) return 'less than a second';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
