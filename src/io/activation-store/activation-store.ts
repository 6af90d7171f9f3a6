/**
 * The activation store of a run (--capture-activations): one NumPy `.npy` file per captured layer and position,
 * and `rows.npy`, which says whose row each row is. Every file is a valid array at every moment, so it can be
 * read (or memory-mapped) while the run goes on:
 *
 *     runs/<id>/activations/activations.json           layout: layers, positions, width, dtype, files
 *     runs/<id>/activations/rows.npy                   int64 [N, 3]: task_id, sample_index, is_correct
 *     runs/<id>/activations/layer_06.last_prompt.npy   float32|float16 [N, hidden]: row i is rows.npy's row i
 *
 * Crash safety follows the journal's: a record's row is appended to every file and fdatasync'd before its
 * journal line is written, so a journaled record always has its row. A crash between the two leaves rows the
 * journal does not have, always at the end (the run store's appends never overlap): opening the store cuts them,
 * with whatever torn bytes a killed write left, and the resumed run appends the redone records after the rest.
 * Nothing is ever appended twice, and no journaled row is ever lost.
 */
import { mkdir, open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { writeFileAtomic } from '../atomic-file.js';
import { float32ArrayToHalf } from './float16-bits.js';
import { NPY_HEADER_BYTES, NPY_ITEM_BYTES, npyHeader, readNpyHeader, type NpyDescr } from './npy-header.js';

export type ActivationDtype = 'float32' | 'float16';

/** What is captured per record: the packed vector of a record is [layer][position][hidden] in this order. */
export interface ActivationStoreLayout {
  layers: number[];
  positions: string[];
  hidden: number;
  dtype: ActivationDtype;
}

/** A record's key and label, as `rows.npy` keeps them. */
export interface ActivationRowKey {
  task_id: number;
  sample_index: number;
  is_correct: boolean;
}

/** One array file: its name in the store's directory, and which layer and position its rows hold. */
export interface ActivationFile {
  file: string;
  layer: number;
  position: string;
}

export const ROWS_FILE = 'rows.npy';
export const ROW_COLUMNS = ['task_id', 'sample_index', 'is_correct'] as const;
const LAYOUT_FILE = 'activations.json';
const LAYOUT_FORMAT = 1;

/** `layer_06.last_prompt.npy`: names that say the layer and the position, sorted as the model's layers are. */
export function activationFiles(layout: Pick<ActivationStoreLayout, 'layers' | 'positions'>): ActivationFile[] {
  return layout.layers.flatMap((layer) =>
    layout.positions.map((position) => ({ file: `layer_${String(layer).padStart(2, '0')}.${position.replaceAll('-', '_')}.npy`, layer, position })),
  );
}

/** One open `.npy` file being appended to. */
interface ArrayFile {
  name: string;
  handle: FileHandle;
  descr: NpyDescr;
  columns: number;
  rowBytes: number;
}

/** What opening found and repaired, for the run's warnings. */
export interface ActivationStoreOpening {
  rows: number;
  warnings: string[];
}

export class ActivationStore {
  private rows: number;
  private readonly keys = new Set<string>();
  /** Set when a failed append left the files' ends unknown: no more appends (opening again repairs them). */
  private broken: Error | null = null;

  private constructor(
    readonly dir: string,
    readonly layout: ActivationStoreLayout,
    private readonly rowsFile: ArrayFile,
    private readonly arrays: ArrayFile[],
    readonly opening: ActivationStoreOpening,
    keys: readonly string[],
  ) {
    this.rows = opening.rows;
    for (const key of keys) this.keys.add(key);
  }

  /**
   * Opens the store in `dir`, creating it if the run has none yet. An existing store keeps the rows of records
   * `isJournaledOk` says the journal has as judged; the rows after them (a crash between a row and its journal
   * line) and any torn bytes are cut. A store of another layout is refused.
   */
  static async open(dir: string, layout: ActivationStoreLayout, isJournaledOk: (taskId: number, sampleIndex: number) => boolean): Promise<ActivationStore> {
    const files = activationFiles(layout);
    const found = await readLayout(join(dir, LAYOUT_FILE));
    if (found !== null && !sameLayout(found, layout)) {
      throw new InputError(
        `${join(dir, LAYOUT_FILE)}: this run's activations were captured as ${describeLayout(found)}, not ${describeLayout(layout)}; ` +
          'use the same --activation-* flags, or --fresh to start over (the old files are kept aside)',
      );
    }
    if (found === null) {
      // Without its layout file a store was never created whole, so it has no rows; one with rows lost the file.
      const rowsSize = await stat(join(dir, ROWS_FILE)).then((info) => info.size, () => 0);
      if (rowsSize > NPY_HEADER_BYTES) {
        throw new InputError(`${join(dir, LAYOUT_FILE)} is missing but ${ROWS_FILE} has rows; start over with --fresh (the run's files are kept aside)`);
      }
      await create(dir, layout, files);
    }
    const descr: NpyDescr = layout.dtype === 'float16' ? '<f2' : '<f4';
    const opened: ArrayFile[] = [];
    try {
      opened.push(await openArray(dir, ROWS_FILE, '<i8', ROW_COLUMNS.length));
      for (const { file } of files) opened.push(await openArray(dir, file, descr, layout.hidden));
      const [rowsFile, ...arrays] = opened as [ArrayFile, ...ArrayFile[]];
      const { rows, keys, warnings } = await recover(dir, rowsFile, arrays, isJournaledOk);
      return new ActivationStore(dir, layout, rowsFile, arrays, { rows, warnings }, keys);
    } catch (error) {
      await Promise.all(opened.map((file) => file.handle.close()));
      throw error;
    }
  }

  /** Rows in the store. */
  get size(): number {
    return this.rows;
  }

  /** Whether the record has its row. */
  has(taskId: number, sampleIndex: number): boolean {
    return this.keys.has(`${taskId}:${sampleIndex}`);
  }

  /**
   * Appends one record's row to every file and makes it durable; resolves once it is on disk. `packed` is the
   * record's vectors, [layer][position][hidden] in the layout's order. A record that already has its row is refused.
   */
  async append(key: ActivationRowKey, packed: Float32Array): Promise<void> {
    if (this.broken !== null) throw this.broken;
    const { layers, positions, hidden } = this.layout;
    if (packed.length !== layers.length * positions.length * hidden) {
      throw new Error(`activations of task ${key.task_id} sample ${key.sample_index}: ${packed.length} values, expected ${layers.length} x ${positions.length} x ${hidden}`);
    }
    const id = `${key.task_id}:${key.sample_index}`;
    if (this.keys.has(id)) throw new Error(`activations of task ${key.task_id} sample ${key.sample_index} are already stored`);
    const row = this.rows;
    const rowKey = Buffer.from(BigInt64Array.of(BigInt(key.task_id), BigInt(key.sample_index), key.is_correct ? 1n : 0n).buffer);
    const vectors = this.layout.dtype === 'float16' ? float32ArrayToHalf(packed) : packed;
    const vectorBytes = Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength);
    try {
      await Promise.all([
        appendRow(this.rowsFile, row, rowKey),
        ...this.arrays.map((file, i) => appendRow(file, row, vectorBytes.subarray(i * file.rowBytes, (i + 1) * file.rowBytes))),
      ]);
    } catch (error) {
      this.broken = new Error(`cannot append to the activation store ${this.dir}: ${(error as Error).message}`, { cause: error });
      throw this.broken;
    }
    this.rows = row + 1;
    this.keys.add(id);
  }

  /** What the metadata says about the store: where, what each file holds, its shape and dtype. */
  describe(): Record<string, unknown> {
    const { layers, positions, hidden, dtype } = this.layout;
    return {
      dir: this.dir,
      format: 'npy',
      dtype,
      hidden_size: hidden,
      layers,
      positions,
      rows: this.rows,
      rows_file: { file: ROWS_FILE, dtype: 'int64', shape: [this.rows, ROW_COLUMNS.length], columns: [...ROW_COLUMNS] },
      files: activationFiles(this.layout).map((file) => ({ ...file, dtype, shape: [this.rows, hidden] })),
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.rowsFile, ...this.arrays].map((file) => file.handle.close()));
  }
}

/** Row `row`'s bytes at its place, the header's count after it, then one fdatasync for both. */
async function appendRow(file: ArrayFile, row: number, bytes: Uint8Array): Promise<void> {
  await file.handle.write(bytes, 0, bytes.length, NPY_HEADER_BYTES + row * file.rowBytes);
  await file.handle.write(npyHeader(file.descr, row + 1, file.columns), 0, NPY_HEADER_BYTES, 0);
  await file.handle.datasync();
}

/** Every file with no rows, then the layout file: its presence says the store was created whole. */
async function create(dir: string, layout: ActivationStoreLayout, files: readonly ActivationFile[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const descr: NpyDescr = layout.dtype === 'float16' ? '<f2' : '<f4';
  await writeFileAtomic(join(dir, ROWS_FILE), npyHeader('<i8', 0, ROW_COLUMNS.length));
  for (const { file } of files) await writeFileAtomic(join(dir, file), npyHeader(descr, 0, layout.hidden));
  await writeFileAtomic(join(dir, LAYOUT_FILE), `${JSON.stringify({ format: LAYOUT_FORMAT, ...layout, rows_file: ROWS_FILE, files }, null, 2)}\n`);
}

async function openArray(dir: string, name: string, descr: NpyDescr, columns: number): Promise<ArrayFile> {
  const path = join(dir, name);
  const missing = await stat(path).then(() => false, () => true);
  if (missing) throw new InputError(`${path} is missing: the activation store is damaged; start over with --fresh (the run's files are kept aside)`);
  return { name, handle: await open(path, 'r+'), descr, columns, rowBytes: columns * NPY_ITEM_BYTES[descr] };
}

/**
 * Makes every file hold exactly the rows of journaled records: the whole rows all files have, then the prefix
 * of those whose record the journal has as judged. The rest is cut and every header rewritten to the count.
 */
async function recover(
  dir: string,
  rowsFile: ArrayFile,
  arrays: readonly ArrayFile[],
  isJournaledOk: (taskId: number, sampleIndex: number) => boolean,
): Promise<{ rows: number; keys: string[]; warnings: string[] }> {
  const all = [rowsFile, ...arrays];
  const sizes = await Promise.all(all.map(async (file) => (await file.handle.stat()).size));
  for (const [i, file] of all.entries()) {
    const header = Buffer.alloc(NPY_HEADER_BYTES);
    await file.handle.read(header, 0, NPY_HEADER_BYTES, 0);
    const read = readNpyHeader(header);
    if ((sizes[i] as number) >= NPY_HEADER_BYTES && (read === null || read.descr !== file.descr || read.columns !== file.columns)) {
      throw new InputError(`${join(dir, file.name)}: not an array this store wrote (${file.descr} with ${file.columns} columns); start over with --fresh`);
    }
  }
  const whole = all.map((file, i) => Math.max(0, Math.floor(((sizes[i] as number) - NPY_HEADER_BYTES) / file.rowBytes)));
  const common = Math.min(...whole);
  const keyBytes = Buffer.alloc(common * rowsFile.rowBytes);
  await rowsFile.handle.read(keyBytes, 0, keyBytes.length, NPY_HEADER_BYTES);
  const stored = new BigInt64Array(keyBytes.buffer, keyBytes.byteOffset, common * ROW_COLUMNS.length);
  const keys: string[] = [];
  const seen = new Set<string>();
  let kept = 0;
  for (let row = 0; row < common; row++) {
    const taskId = Number(stored[row * 3]);
    const sampleIndex = Number(stored[row * 3 + 1]);
    const key = `${taskId}:${sampleIndex}`;
    const journaled = isJournaledOk(taskId, sampleIndex) && !seen.has(key);
    if (journaled && kept < row) {
      throw new InputError(
        `${join(dir, ROWS_FILE)}: row ${row} (task ${taskId} sample ${sampleIndex}) is journaled but comes after row ${kept}, which is not; ` +
          'the activation store is out of step with the journal; start over with --fresh (the run\'s files are kept aside)',
      );
    }
    if (journaled) {
      kept = row + 1;
      keys.push(key);
    }
    seen.add(key);
  }
  const warnings: string[] = [];
  if (kept < common) warnings.push(`activations: dropped ${common - kept} row(s) of records the journal does not have (they are redone)`);
  const torn = all.filter((file, i) => (sizes[i] as number) > NPY_HEADER_BYTES + common * file.rowBytes && (whole[i] as number) === common);
  if (torn.length > 0) warnings.push(`activations: cut the torn end of a row a crash left in ${torn.map((file) => file.name).join(', ')}`);
  await Promise.all(
    all.map(async (file, i) => {
      if (sizes[i] === NPY_HEADER_BYTES + kept * file.rowBytes) return;
      await file.handle.truncate(NPY_HEADER_BYTES + kept * file.rowBytes);
      await file.handle.write(npyHeader(file.descr, kept, file.columns), 0, NPY_HEADER_BYTES, 0);
      await file.handle.datasync();
    }),
  );
  return { rows: kept, keys, warnings };
}

async function readLayout(path: string): Promise<ActivationStoreLayout | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const value = JSON.parse(text) as ActivationStoreLayout & { format: number };
    if (value.format !== LAYOUT_FORMAT) throw new Error(`format ${value.format}`);
    return { layers: value.layers, positions: value.positions, hidden: value.hidden, dtype: value.dtype };
  } catch (error) {
    throw new InputError(`${path}: not a layout this version writes (${(error as Error).message}); start over with --fresh`);
  }
}

function sameLayout(a: ActivationStoreLayout, b: ActivationStoreLayout): boolean {
  return describeLayout(a) === describeLayout(b);
}

function describeLayout(layout: ActivationStoreLayout): string {
  return `layers ${layout.layers.join(',')}, positions ${layout.positions.join(',')}, width ${layout.hidden}, ${layout.dtype}`;
}
