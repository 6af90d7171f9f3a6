import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';

/** The files of the newest dataset a build wrote under `outputDir`. */
export async function latestDataset(outputDir: string): Promise<{ parquet: string; json: string; metadata: string }> {
  const dir = join(outputDir, 'mbpp_datasets');
  const names = await readdir(dir);
  const parquet = names.filter((name) => /^mbpp_dataset_\d{8}_\d{6}(_\d+)?\.parquet$/.test(name)).sort().at(-1);
  if (!parquet) throw new Error(`no dataset in ${dir}: ${names.join(', ')}`);
  const stem = join(dir, parquet.replace(/\.parquet$/, ''));
  return { parquet: join(dir, parquet), json: `${stem}.json`, metadata: `${stem}_extended_metadata.json` };
}

/** Rows as an independent Parquet reader (hyparquet, not our parquet-wasm) sees them. */
export async function readRowsIndependently(path: string): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: await asyncBufferFromFile(path) });
}

/** An autosave (a directory of Parquet parts) as an independent reader sees it: its parts' rows, in name order. */
export async function readAutosaveIndependently(dir: string): Promise<Record<string, unknown>[]> {
  const parts = (await readdir(dir)).filter((name) => name.endsWith('.parquet')).sort();
  const rows: Record<string, unknown>[] = [];
  for (const part of parts) rows.push(...(await readRowsIndependently(join(dir, part))));
  return rows;
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}
