const GIB = 1024 ** 3;

/** "38.1 GiB": thresholds and GPU memory are always spoken of in GiB. */
export function formatGib(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GiB`;
}

/** "512 B", "14.2 KiB", "3.0 MiB", "1.2 GiB": sizes that span orders of magnitude (files, datasets). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
