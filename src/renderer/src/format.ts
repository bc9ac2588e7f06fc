// Numbers and times in words a person reads at a glance; the exact value goes in a title.

// Sizes and counts are the shared convention (src/shared/format.ts), the CLI's too.
export { formatBinary, formatBytes, formatRelative, formatSpeed, plural } from '../../shared/format';

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

/** Storage cost n/k as people say it: "1.5×". */
export function formatCost(total: number, data: number): string {
  if (data <= 0) return '—';
  const cost = total / data;
  return `${Number.isInteger(cost) ? cost : cost.toFixed(2).replace(/0$/, '')}×`;
}
