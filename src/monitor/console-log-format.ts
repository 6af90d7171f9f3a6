/**
 * Turns a pino JSON line into one human-readable console line: `14:05:31 WARN  retry 2/3 task 11:0 (timeout)
 * attempt=2`. Keeps pino-pretty (and its worker-thread transport) out of the dependency tree.
 */

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Fields pino adds, or that the message already says. */
const HIDDEN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'event', 'config', 'versions', 'statistics']);

export function formatConsoleLine(jsonLine: string, omitEvents: ReadonlySet<string> = new Set()): string | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.trimEnd();
  }
  if (typeof entry['event'] === 'string' && omitEvents.has(entry['event'])) return undefined;
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toISOString().slice(11, 19) : '--:--:--';
  const level = (LEVEL_NAMES[entry['level'] as number] ?? String(entry['level'])).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  return [time, level, String(entry['msg'] ?? ''), ...fields].join(' ').trimEnd();
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value) {
    const error = value as { type?: string; message?: string };
    return JSON.stringify(`${error.type ?? 'Error'}: ${error.message ?? ''}`);
  }
  return JSON.stringify(value);
}
