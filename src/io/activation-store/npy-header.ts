/**
 * The header of a NumPy `.npy` file (format 1.0) of a C-order 2-D array, kept at a fixed size so the row count
 * can be rewritten in place as rows are appended: the file is always a valid array of the rows it holds.
 *
 *     \x93NUMPY \x01 \x00 <u16 header length> {'descr': '<f4', 'fortran_order': False, 'shape': (N, C), } <spaces> \n
 */

/** Bytes before the first row: a multiple of 64, as NumPy aligns it, with room for any row count. */
export const NPY_HEADER_BYTES = 128;

const MAGIC = [0x93, ...Buffer.from('NUMPY')];
const PREAMBLE = MAGIC.length + 4;

/** The element types written here: little-endian float32, float16, int64. */
export type NpyDescr = '<f4' | '<f2' | '<i8';

export const NPY_ITEM_BYTES: Record<NpyDescr, number> = { '<f4': 4, '<f2': 2, '<i8': 8 };

/** The header of a [rows, columns] array of `descr`, NPY_HEADER_BYTES long. */
export function npyHeader(descr: NpyDescr, rows: number, columns: number): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  const text = `${dict.padEnd(NPY_HEADER_BYTES - PREAMBLE - 1)}\n`;
  const header = Buffer.alloc(NPY_HEADER_BYTES);
  header.set(MAGIC, 0);
  header.writeUInt8(1, MAGIC.length);
  header.writeUInt8(0, MAGIC.length + 1);
  header.writeUInt16LE(text.length, MAGIC.length + 2);
  header.write(text, PREAMBLE, 'latin1');
  return header;
}

/** What a header says, or null when it is not one this module wrote (damaged, or another writer's). */
export function readNpyHeader(bytes: Uint8Array): { descr: string; rows: number; columns: number } | null {
  if (bytes.length < NPY_HEADER_BYTES || !MAGIC.every((byte, i) => bytes[i] === byte)) return null;
  const text = Buffer.from(bytes.subarray(PREAMBLE, NPY_HEADER_BYTES)).toString('latin1');
  const match = /^\{'descr': '([<>|][a-z]\d+)', 'fortran_order': False, 'shape': \((\d+), (\d+)\), \}/.exec(text);
  if (match === null) return null;
  return { descr: match[1] as string, rows: Number(match[2]), columns: Number(match[3]) };
}
