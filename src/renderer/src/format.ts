// Numbers and times in words a person reads at a glance; the exact value goes in a title.

// Sizes and counts are the shared convention (src/shared/format.ts), the CLI's too.
export { formatBinary, formatBytes, formatDuration, formatRelative, formatSpeed, plural } from '../../shared/format';

export function formatTime(iso: string, precise = false): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: precise ? 'medium' : 'short' });
}

/** The engine's words as a sentence for a form: "this passphrase…" → "This passphrase…". */
export function sentence(message: string): string {
  return message.charAt(0).toUpperCase() + message.slice(1);
}

/** Storage cost n/k as people say it: "1.5×". */
export function formatCost(total: number, data: number): string {
  if (data <= 0) return '—';
  const cost = total / data;
  return `${Number.isInteger(cost) ? cost : cost.toFixed(2).replace(/0$/, '')}×`;
}
