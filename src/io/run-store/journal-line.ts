/**
 * One journal line: `<byte length> <crc32 hex> <json>\n`. The length and checksum let a reader tell a
 * complete line from one torn by a crash mid-write, or damaged later, without trusting the JSON parser.
 */
import { crc32 } from 'node:zlib';

const SPACE = 0x20;

/** Encodes a value as one self-checking line, newline included. */
export function encodeJournalLine(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  const header = `${json.length} ${crc32(json).toString(16).padStart(8, '0')} `;
  return Buffer.concat([Buffer.from(header, 'latin1'), json, Buffer.from('\n', 'latin1')]);
}

/**
 * Decodes one line (without its newline). Returns the parsed value, or null when the line is not exactly
 * what `encodeJournalLine` wrote: wrong length, wrong checksum, or not JSON.
 */
export function decodeJournalLine(line: Buffer): unknown | null {
  const firstSpace = line.indexOf(SPACE);
  if (firstSpace <= 0 || firstSpace > 12) return null;
  const secondSpace = firstSpace + 9;
  if (line[secondSpace] !== SPACE) return null;
  const lengthText = line.toString('latin1', 0, firstSpace);
  const checksumText = line.toString('latin1', firstSpace + 1, secondSpace);
  if (!/^\d+$/.test(lengthText) || !/^[0-9a-f]{8}$/.test(checksumText)) return null;
  const json = line.subarray(secondSpace + 1);
  if (json.length !== Number(lengthText)) return null;
  if (crc32(json) !== Number.parseInt(checksumText, 16)) return null;
  try {
    return JSON.parse(json.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
