import { homedir } from 'node:os';
import { sep } from 'node:path';
import { formatDistance } from 'date-fns/formatDistance';

/** `1536` → `1.5 KB` (powers of 1024, as cachier's `entrySizeLimit` counts). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** `'3 days ago'`, `'less than a minute ago'` (date-fns), or `'-'` for none. */
export function formatAge(epochMs: number | undefined, now: number): string {
  if (epochMs === undefined) return '-';
  return formatDistance(epochMs, now, { addSuffix: true });
}

/** Epoch ms → ISO 8601 for `--json`, `null` for none. */
export function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString();
}

/** Lays out rows as left-aligned columns (numbers right-aligned) under a header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const numeric = header.map(
    (_, column) =>
      rows.length > 0 && rows.every((row) => /^[\d.,]+( [KMGT]?B)?$/.test(row[column] ?? '')),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        const last = column === cells.length - 1;
        if (numeric[column]) return cell.padStart(width);
        return last ? cell : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Label–value lines, labels padded to one width. */
export function pairs(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** A path under the home folder written with `~`, so output (and docs) show no machine path. */
export function tilde(path: string): string {
  const home = homedir();
  return path === home || path.startsWith(`${home}${sep}`) ? `~${path.slice(home.length)}` : path;
}
