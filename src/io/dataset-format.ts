/**
 * Which data a run's `--dataset` holds, MBPP (google-research's JSONL or Hugging Face's Parquet) or MBPP+
 * (EvalPlus's JSONL), and loading it as such, with the original MBPP joined to MBPP+ when `--original-dataset` is
 * given. `auto` (the default) decides by the first record: MBPP+ when its task_id is a `Mbpp/N` string and it has
 * base_input.
 */
import { readFile, stat } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { DatasetFormatChoice } from './dataset-format-choices.js';
import { loadMbpp, type LoadedMbpp } from './mbpp-source.js';
import { joinOriginal, loadMbppPlus, MBPPPLUS_TASK_ID } from './mbppplus-source.js';
import { objectFields, parseValue, PythonJsonSyntaxError } from './python-json.js';
import { hasParquetMagic, jsonlLines } from './table-rows.js';

export type DatasetFormat = Exclude<DatasetFormatChoice, 'auto'>;

export interface LoadedDataset extends LoadedMbpp {
  datasetFormat: DatasetFormat;
  /** The original MBPP file joined to MBPP+ (`--original-dataset`). */
  original?: { path: string; sha256: string };
}

/** What a run's data is beyond its file's sha256: for the run identity and the metadata. */
export type DatasetDescription = Pick<LoadedDataset, 'datasetFormat' | 'original'>;

export interface DatasetOptions {
  /** `--dataset-format`; default `auto`. */
  format?: DatasetFormatChoice;
  /** `--original-dataset`: the original MBPP file to join to an MBPP+ dataset by task id. */
  original?: string;
}

/** What `auto` takes the file for; `flag` names the file in errors. */
export async function detectDatasetFormat(path: string, flag = '--dataset'): Promise<DatasetFormat> {
  return (await recognisedFormat(path, flag)) ?? 'mbpp';
}

/**
 * MBPP+ when the first record's task_id is a `Mbpp/N` string and it has base_input; MBPP for Parquet (a file or a
 * folder of parts) or an integer task_id; else unknown (a malformed first line, say).
 */
async function recognisedFormat(path: string, flag: string): Promise<DatasetFormat | undefined> {
  const cannotRead = (error: NodeJS.ErrnoException): never => {
    throw new InputError(`${flag} ${path}: cannot read (${error.code ?? error.message})`);
  };
  if ((await stat(path).catch(cannotRead)).isDirectory()) return 'mbpp';
  const bytes = await readFile(path).catch(cannotRead);
  if (hasParquetMagic(bytes)) return 'mbpp';
  const first = jsonlLines(bytes.toString('utf8'))[0];
  return first === undefined ? undefined : formatOfLine(first.line);
}

function formatOfLine(line: string): DatasetFormat | undefined {
  try {
    const fields = objectFields(line);
    const taskId = parseValue(fields.get('task_id') ?? 'null');
    if (typeof taskId === 'string' && MBPPPLUS_TASK_ID.test(taskId) && fields.has('base_input')) return 'mbppplus';
    return Number.isSafeInteger(taskId) ? 'mbpp' : undefined;
  } catch (error) {
    if (error instanceof PythonJsonSyntaxError) return undefined;
    throw error;
  }
}

export async function loadDataset(path: string, options: DatasetOptions = {}): Promise<LoadedDataset> {
  const datasetFormat = await formatOf(path, options.format ?? 'auto');
  if (datasetFormat === 'mbpp') {
    if (options.original !== undefined) {
      throw new InputError(
        `--original-dataset joins the original MBPP to an MBPP+ dataset, but --dataset ${path} is MBPP (give EvalPlus's MbppPlus-v0.2.0.jsonl as --dataset, or drop --original-dataset)`,
      );
    }
    return { ...(await loadMbpp(path)), datasetFormat };
  }
  const plus = await loadMbppPlus(path);
  if (options.original === undefined) return { ...plus, datasetFormat };
  const original = await loadOriginal(options.original);
  return {
    ...plus,
    records: joinOriginal(plus.records, original, options.original),
    datasetFormat,
    original: { path: options.original, sha256: original.sha256 },
  };
}

/**
 * A format forced on a file recognisably of the other is refused here; on a file of neither, the forced format's
 * loader names the line and field at fault.
 */
async function formatOf(path: string, choice: DatasetFormatChoice): Promise<DatasetFormat> {
  const recognised = await recognisedFormat(path, '--dataset');
  if (choice === 'auto') return recognised ?? 'mbpp';
  if (recognised !== undefined && recognised !== choice) {
    throw new InputError(
      `--dataset ${path} is ${FORMAT_NAMES[recognised]}, not ${FORMAT_NAMES[choice]}: drop --dataset-format ${choice}, or give --dataset-format ${recognised}`,
    );
  }
  return choice;
}

const FORMAT_NAMES: Readonly<Record<DatasetFormat, string>> = { mbpp: 'MBPP', mbppplus: "MBPP+ (EvalPlus's format)" };

async function loadOriginal(path: string): Promise<LoadedMbpp> {
  if ((await detectDatasetFormat(path, '--original-dataset')) === 'mbppplus') {
    throw new InputError(`--original-dataset ${path} is MBPP+, not the original MBPP: give google-research's mbpp.jsonl (or Hugging Face's Parquet)`);
  }
  return loadMbpp(path, '--original-dataset');
}
