import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import type { HubEnvironment } from '../inference/hub/hub-environment.js';
import type { ModelReference } from '../inference/hub/model-reference.js';

/** `mbpp-stream models pull|list|rm [org/name[@revision]…]`: the models the onnx backend can load, and their cache. */
export interface ModelsArgs {
  action: 'pull' | 'list' | 'rm';
  models?: string[];
  dtype?: string;
  modelsDir?: string;
}

/** Declares the command's positionals and flags (kept here so main.ts only registers it). */
export function withModelsOptions<T>(y: Argv<T>): Argv<T & ModelsArgs> {
  return y
    .positional('action', { choices: ['pull', 'list', 'rm'] as const, demandOption: true, describe: 'pull: download; list: what is cached; rm: remove' })
    .positional('models', { type: 'string', array: true, describe: 'org/name or org/name@revision (a branch, tag or commit)' })
    .option('dtype', { type: 'string', describe: 'pull: which ONNX export (fp32, fp16, q8, …; default the first of those the repo has)' })
    .option('models-dir', { type: 'string', describe: 'The tool\'s own models dir (else $MBPP_STREAM_MODELS_DIR)' }) as unknown as Argv<T & ModelsArgs>;
}

interface Output {
  write(text: string): unknown;
}

/** stderr, or a test's stream: a spinner only where it is a sized terminal. */
type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Runs one action; resolves to the exit code. Progress goes to stderr, results (paths, the table) to stdout. */
export async function runModels(args: ModelsArgs, out: Output = process.stdout, err: ProgressStream = process.stderr): Promise<number> {
  const { hubEnvironmentFrom } = await import('../inference/hub/hub-environment.js');
  const { defaultModelsCacheDir } = await import('../inference/onnx/model-resolution.js');
  const hub = hubEnvironmentFrom();
  const modelsDir = args.modelsDir ?? defaultModelsCacheDir();
  const ids = args.models ?? [];
  if (args.action !== 'list' && ids.length === 0) throw new InputError(`models ${args.action}: name at least one model (org/name[@revision])`);
  if (args.action === 'list' && ids.length > 0) throw new InputError('models list takes no model names');
  switch (args.action) {
    case 'pull':
      for (const id of ids) await pull(id, args.dtype, modelsDir, hub, out, err);
      return 0;
    case 'list':
      await list(modelsDir, hub, out);
      return 0;
    case 'rm':
      for (const id of ids) await remove(id, modelsDir, hub, out);
      return 0;
  }
}


async function referenceOf(action: string, id: string): Promise<ModelReference> {
  const { parseModelReference } = await import('../inference/hub/model-reference.js');
  const ref = parseModelReference(id);
  if (ref === undefined) throw new InputError(`models ${action}: "${id}" is not a model id (org/name[@revision])`);
  return ref;
}

/** Always asks the Hub where the revision is now (a build uses the cache as it is): this is how a cache is updated. */
async function pull(id: string, dtype: string | undefined, modelsDir: string, hub: HubEnvironment, out: Output, err: ProgressStream): Promise<void> {
  const ref = await referenceOf('pull', id);
  if (hub.offline) throw new InputError(`models pull ${id}: HF_HUB_OFFLINE is set; unset it to download`);
  const { planSnapshot, downloadSnapshot } = await import('../inference/hub/hub-snapshot.js');
  const { createDownloadProgress, downloadProgressModeFor } = await import('../inference/hub/download-progress.js');
  const { cachedModelPath } = await import('../inference/onnx/model-resolution.js');
  const snapshot = await planSnapshot(ref, dtype, hub, cachedModelPath(modelsDir, ref.repo));
  const progress = createDownloadProgress({ mode: downloadProgressModeFor(err), stream: err });
  const already = snapshot.missing.length === 0;
  await downloadSnapshot(snapshot, hub, progress);
  if (already) err.write(`${id} (${snapshot.variant.dtype}) at ${snapshot.commit.slice(0, 12)} is already in the cache\n`);
  out.write(`${snapshot.dir}\n`);
}

async function list(modelsDir: string, hub: HubEnvironment, out: Output): Promise<void> {
  const { listCachedModels } = await import('../inference/hub/cached-models.js');
  const { modelDirFiles } = await import('../inference/hub/hf-cache.js');
  const { onnxVariants } = await import('../inference/hub/onnx-variants.js');
  const { formatBytes } = await import('../monitor/byte-format.js');
  const { readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const rows: string[][] = [['model', 'revision', 'dtypes', 'size', 'where']];
  const inventory = await listCachedModels(hub.cacheDir);
  for (const model of inventory.models) {
    model.revisions.forEach((revision, index) => {
      const refs = revision.refs.length > 0 ? `${revision.refs.join(',')} ` : '';
      rows.push([model.repo, `${refs}${revision.commit.slice(0, 12)}`, revision.dtypes.join(','), index === 0 ? formatBytes(model.bytes) : '', index === 0 ? model.dir : '']);
    });
  }
  for (const folder of (await readdir(modelsDir).catch(() => [] as string[])).sort()) {
    const files = await modelDirFiles(join(modelsDir, folder));
    const dtypes = onnxVariants(files).map((v) => v.dtype);
    if (dtypes.length === 0) continue;
    rows.push([folder.replaceAll('__', '/'), '(models dir)', dtypes.join(','), formatBytes(files.reduce((sum, f) => sum + f.size, 0)), join(modelsDir, folder)]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) out.write(`${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()}\n`);
  const others = inventory.withoutOnnx > 0 ? `; ${inventory.withoutOnnx} other model${inventory.withoutOnnx === 1 ? '' : 's'} there without an ONNX export` : '';
  out.write(`Hugging Face cache: ${hub.cacheDir}${others}\nmodels dir: ${modelsDir}\n`);
}

async function remove(id: string, modelsDir: string, hub: HubEnvironment, out: Output): Promise<void> {
  const ref = await referenceOf('rm', id);
  const { removeCachedModel } = await import('../inference/hub/cached-models.js');
  const { cachedModelPath } = await import('../inference/onnx/model-resolution.js');
  const { formatBytes } = await import('../monitor/byte-format.js');
  const { rm, stat } = await import('node:fs/promises');
  const removal = await removeCachedModel(hub.cacheDir, ref);
  if (removal !== undefined) out.write(`removed ${removal.removed.join(', ')} (${formatBytes(removal.freedBytes)} freed; Python tools share this cache)\n`);
  const exported = cachedModelPath(modelsDir, ref.repo);
  const inModelsDir = !ref.explicitRevision && (await stat(exported).then((s) => s.isDirectory(), () => false));
  if (inModelsDir) {
    await rm(exported, { recursive: true, force: true });
    out.write(`removed ${exported}\n`);
  }
  if (removal === undefined && !inModelsDir) {
    throw new InputError(`models rm: ${id} is in neither the Hugging Face cache (${hub.cacheDir}) nor the models dir (${modelsDir})`);
  }
}
