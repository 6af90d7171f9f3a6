import { InputError } from '../errors.js';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };

/**
 * A duration flag in seconds: `90`, `90s`, `15m`, `1.5h`. What users write for a wait; a bare number is seconds,
 * as everywhere else in the config.
 */
export function parseDurationFlag(flag: string, value: string | number): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$/i.exec(String(value));
  if (match === null) {
    throw new InputError(`${flag} must be a duration such as 90, 90s, 15m or 1h, got ${JSON.stringify(String(value))}`);
  }
  return Number(match[1]) * UNIT_SECONDS[(match[2] || 's').toLowerCase()]!;
}
