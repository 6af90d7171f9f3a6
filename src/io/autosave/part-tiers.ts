/**
 * Which parts of an autosave to merge, so that each save writes only its new rows and yet the number of part files
 * stays small: parts are tiered by the order of magnitude of their rows (a part of 100-999 rows is tier 2), and ten
 * trailing parts of a tier become one of the next, like the digits of a counter, up to parts of 10,000 rows, which
 * are never merged again. With the default 100 records per save each row is written three times over a run (as a
 * part of 100, of 1,000, of 10,000), a save never rewrites more than 10,000 rows, and a 200,000-row autosave is a
 * few dozen files.
 */

/** A part's journal range and rows, as the tiering sees it. */
export interface TieredPart {
  from: number;
  to: number;
  rows: number;
}

/** Trailing parts of one tier that are merged. */
export const MERGE_FANOUT = 10;

/** Parts of this tier (10,000 rows and more) are never merged. */
const TOP_TIER = 4;

/** Rows per part when an autosave is rebuilt from the whole journal: parts of the top tier. */
export const REBUILT_PART_ROWS = 10 ** TOP_TIER;

/** The number of digits of `rows` less one (integer arithmetic: log10 of 1000 is not always 3), at most the top. */
export function tierOf(rows: number): number {
  let tier = 0;
  for (let rest = rows; rest >= 10 && tier < TOP_TIER; rest = Math.floor(rest / 10)) tier += 1;
  return tier;
}

/**
 * The trailing parts to merge into one, as [first index, last index], or null when no tier below the top has
 * `MERGE_FANOUT` trailing parts. Merge, then ask again: a merged part may complete the next tier's ten.
 */
export function trailingMerge(parts: readonly TieredPart[]): [number, number] | null {
  const last = parts[parts.length - 1];
  if (last === undefined) return null;
  const tier = tierOf(last.rows);
  if (tier >= TOP_TIER) return null;
  let first = parts.length - 1;
  while (first > 0 && tierOf(parts[first - 1]!.rows) === tier) first -= 1;
  return parts.length - first >= MERGE_FANOUT ? [parts.length - MERGE_FANOUT, parts.length - 1] : null;
}
