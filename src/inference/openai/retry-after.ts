/**
 * Reads a `Retry-After` header (RFC 9110: delay-seconds or an HTTP date) as a wait in ms.
 * Returns undefined when absent or unreadable, so the retry policy falls back to its own backoff.
 */
export function parseRetryAfter(header: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // HTTP dates in all three RFC forms start with a weekday name; Date.parse alone would take "-3" as a year.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
