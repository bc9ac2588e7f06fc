// Numbers and times in words a person reads at a glance; the exact value goes in a title.

// Sizes and counts are the shared convention (src/shared/format.ts), the CLI's too.
export { formatBinary, formatBytes, formatSpeed, plural } from '../../shared/format';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  if (seconds < 1) return 'less than a second';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatTime(iso: string, precise = false): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: precise ? 'medium' : 'short' });
}

export function formatRelative(iso: string | null, now = Date.now()): string {
  if (iso === null) return 'never';
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

/** Storage cost n/k as people say it: "1.5×". */
export function formatCost(total: number, data: number): string {
  if (data <= 0) return '—';
  const cost = total / data;
  return `${Number.isInteger(cost) ? cost : cost.toFixed(2).replace(/0$/, '')}×`;
}
