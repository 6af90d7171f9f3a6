import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import type { DownloadProgress } from '../hub/download-progress.js';
import { modelDirFiles } from '../hub/hf-cache.js';
import { hubEnvironmentFrom, type HubEnvironment } from '../hub/hub-environment.js';
import { cachedSnapshot, downloadSnapshot, planSnapshot, type HubSnapshot } from '../hub/hub-snapshot.js';
import { formatModelReference, parseModelReference, type ModelReference } from '../hub/model-reference.js';
import { normalizeDtype, onnxVariants, type RepoFile } from '../hub/onnx-variants.js';

/** Where model ids are looked up: $MBPP_STREAM_MODELS_DIR, else $XDG_CACHE_HOME or ~/.cache, /mbpp-stream/models. */
export function defaultModelsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['MBPP_STREAM_MODELS_DIR']) return env['MBPP_STREAM_MODELS_DIR'];
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'mbpp-stream', 'models');
}

/** `google/gemma-2-2b` -> `google__gemma-2-2b`: one directory level per model. */
export function cachedModelPath(cacheDir: string, modelId: string): string {
  return join(cacheDir, modelId.replaceAll('/', '__'));
}

/** Where a model was found: a directory given as such, the tool's models dir, the Hugging Face cache, or the Hub. */
export type ModelSource = 'directory' | 'models-dir' | 'hf-cache' | 'hub';

export interface ModelResolutionOptions {
  /** [--models-dir] the tool's own models dir; default `defaultModelsCacheDir()`. */
  modelsDir?: string;
  /** [--dtype] which ONNX variant (fp32, fp16, q8, …); default the first of fp32, fp16, q8, … the model has. */
  dtype?: string;
  /** The Hub and its cache; default from HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HUB_CACHE/HF_HOME. */
  hub?: HubEnvironment;
  /** Shows a download as it happens; none: silent. */
  progress?: DownloadProgress;
}

/** Where a `--model` is, or will be once downloaded, and which graph of it runs. */
export interface ModelPlan {
  source: ModelSource;
  dir: string;
  /** What goes into the dataset's `model` column: the id (or the directory's name), `:dtype` unless fp32. */
  name: string;
  /** The decoder graph; undefined for a directory without one (loading it says so). */
  onnxFile: string | undefined;
  dtype: string | undefined;
  /** The Hub commit (hf-cache, hub). */
  commit?: string;
  /** Bytes of the files the backend reads. */
  bytes: number;
  /** Bytes still to download (hub). */
  downloadBytes: number;
  /** The Hub's answer, when it was asked: what `downloadSnapshot` fetches and links. */
  snapshot?: HubSnapshot;
}

export type ResolvedModel = Omit<ModelPlan, 'snapshot' | 'downloadBytes'>;

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function nameWith(base: string, dtype: string | undefined): string {
  return dtype === undefined || dtype === 'fp32' ? base : `${base}:${dtype}`;
}

function sum(files: readonly RepoFile[]): number {
  return files.reduce((total, file) => total + file.size, 0);
}

/** A plain directory in the optimum layout; `--dtype` picks among its graphs as it does on the Hub. */
async function planDirectory(dir: string, name: string, source: ModelSource, dtype: string | undefined): Promise<ModelPlan> {
  const files = await modelDirFiles(dir);
  const variants = onnxVariants(files);
  const variant = dtype === undefined ? variants[0] : variants.find((v) => v.dtype === normalizeDtype(dtype));
  if (dtype !== undefined && variant === undefined) {
    throw new InputError(`--dtype ${dtype}: ${dir} has ${variants.length > 0 ? variants.map((v) => v.dtype).join(', ') : 'no ONNX graph'}`);
  }
  const others = new Set(variants.filter((v) => v !== variant).flatMap((v) => [v.graph, ...v.externalData]));
  return {
    source,
    dir,
    name: nameWith(name, variant?.dtype),
    onnxFile: variant && join(dir, variant.graph),
    dtype: variant?.dtype,
    bytes: sum(files.filter((f) => !others.has(f.path))),
    downloadBytes: 0,
  };
}

function planOfSnapshot(snapshot: HubSnapshot, source: ModelSource): ModelPlan {
  return {
    source,
    dir: snapshot.dir,
    name: nameWith(formatModelReference(snapshot.ref), snapshot.variant.dtype),
    onnxFile: join(snapshot.dir, snapshot.variant.graph),
    dtype: snapshot.variant.dtype,
    commit: snapshot.commit,
    bytes: sum(snapshot.files),
    downloadBytes: snapshot.downloadBytes,
  };
}

function offlineMiss(model: string, ref: ModelReference, modelsDir: string, hub: HubEnvironment): InputError {
  const exportTo = cachedModelPath(modelsDir, ref.repo);
  return new InputError(
    `--model ${model}: not in the models dir (${exportTo}) or the Hugging Face cache (${hub.cacheDir}), and HF_HUB_OFFLINE is set. ` +
      `Download it where there is network with \`mbpp-stream models pull ${model}\` (same cache), unset HF_HUB_OFFLINE, ` +
      `or export it with \`optimum-cli export onnx --model ${ref.repo} --task text-generation-with-past ${exportTo}\``,
  );
}

/**
 * Finds `--model` without downloading anything: a directory; an id in the tool's models dir; the snapshot the id
 * names in the Hugging Face cache (`models--org--name/snapshots/<commit>`, as Python tools fill it); else what the
 * Hub has (unless HF_HUB_OFFLINE) and how much of it has to come down.
 */
export async function planModel(model: string, options: ModelResolutionOptions = {}): Promise<ModelPlan> {
  const modelsDir = options.modelsDir ?? defaultModelsCacheDir();
  const hub = options.hub ?? hubEnvironmentFrom();
  if (await isDirectory(model)) return planDirectory(resolve(model), basename(resolve(model)), 'directory', options.dtype);
  const ref = parseModelReference(model);
  if (ref !== undefined && !ref.explicitRevision && (await isDirectory(cachedModelPath(modelsDir, ref.repo)))) {
    return planDirectory(cachedModelPath(modelsDir, ref.repo), ref.repo, 'models-dir', options.dtype);
  }
  if (ref === undefined) throw new InputError(`--model ${model}: no such directory, and not a model id (org/name[@revision])`);
  const cached = await cachedSnapshot(ref, options.dtype, hub);
  if (cached) return planOfSnapshot(cached, 'hf-cache');
  if (hub.offline) throw offlineMiss(model, ref, modelsDir, hub);
  const snapshot = await planSnapshot(ref, options.dtype, hub, cachedModelPath(modelsDir, ref.repo));
  return { ...planOfSnapshot(snapshot, snapshot.missing.length === 0 ? 'hf-cache' : 'hub'), snapshot };
}

/** `planModel`, then the download it calls for (resumable, verified, with progress). */
export async function resolveModel(model: string, options: ModelResolutionOptions = {}): Promise<ResolvedModel> {
  const plan = await planModel(model, options);
  if (plan.snapshot !== undefined) {
    await downloadSnapshot(plan.snapshot, options.hub ?? hubEnvironmentFrom(), options.progress);
  }
  const { snapshot: _fetched, downloadBytes: _fetchedBytes, ...resolved } = plan;
  return resolved;
}
