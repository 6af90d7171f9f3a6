import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { InputError } from '../../errors.js';

/** Where model ids are looked up: $MBPP_STREAM_MODELS_DIR, else $XDG_CACHE_HOME or ~/.cache, /mbpp-stream/models. */
export function defaultModelsCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env['MBPP_STREAM_MODELS_DIR']) return env['MBPP_STREAM_MODELS_DIR'];
  return join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'mbpp-stream', 'models');
}

/** `google/gemma-2-2b` -> `google__gemma-2-2b`: one directory level per model. */
export function cachedModelPath(cacheDir: string, modelId: string): string {
  return join(cacheDir, modelId.replaceAll('/', '__'));
}

export interface ResolvedModel {
  dir: string;
  /** What goes into the dataset's `model` column: the id, or the directory's name. */
  name: string;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/**
 * `--model` is a directory, or a model id found in the models cache. Neither -> an InputError that says how
 * to export one into the cache, or which other backends need no export.
 */
export async function resolveModel(model: string, cacheDir: string = defaultModelsCacheDir()): Promise<ResolvedModel> {
  if (await isDirectory(model)) return { dir: resolve(model), name: basename(resolve(model)) };
  const cached = cachedModelPath(cacheDir, model);
  if (await isDirectory(cached)) return { dir: cached, name: model };
  throw new InputError(
    `--model ${model}: not a directory, and not in the models cache (${cached}). Export it with ` +
      `\`optimum-cli export onnx --model ${model.includes('/') ? model : 'google/gemma-2-2b'} --task text-generation-with-past ${cached}\`, ` +
      'or use another backend (--backend openai for a served model, --backend reference for the reference solutions)',
  );
}
