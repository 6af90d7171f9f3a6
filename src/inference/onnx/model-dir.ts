import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../errors.js';
import { parseDecoderConfig, type DecoderConfig } from './model-config.js';

/** A model directory in the Hugging Face / optimum layout, checked and parsed. */
export interface ModelDir {
  root: string;
  config: DecoderConfig;
  /** The decoder graph: `onnx/model.onnx` or `model.onnx`. External data sits beside it and ORT finds it. */
  onnxFile: string;
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  tokenizerFile: string;
}

const ONNX_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function readJson(file: string, required: boolean): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    if (!required) return {};
    throw new InputError(`model dir: missing ${file}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(`${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Loads and checks everything but the graph itself (that needs a session: see graph-signature.ts). `onnxFile`
 * is the graph model resolution chose (by `--dtype`); without it the first of ONNX_CANDIDATES is used.
 */
export async function loadModelDir(root: string, onnxFile?: string): Promise<ModelDir> {
  if (!(await exists(root))) throw new InputError(`model dir ${root} does not exist`);
  const configFile = join(root, 'config.json');
  const generationFile = join(root, 'generation_config.json');
  const config = parseDecoderConfig(
    await readJson(configFile, true),
    configFile,
    await readJson(generationFile, false),
    generationFile,
  );
  const tokenizerFile = join(root, 'tokenizer.json');
  const tokenizerJson = await readJson(tokenizerFile, true);
  const tokenizerConfig = await readJson(join(root, 'tokenizer_config.json'), false);
  for (const candidate of onnxFile === undefined ? ONNX_CANDIDATES : []) {
    if (await exists(join(root, candidate))) {
      onnxFile = join(root, candidate);
      break;
    }
  }
  if (onnxFile === undefined) {
    throw new InputError(`model dir ${root}: no ONNX graph (looked for ${ONNX_CANDIDATES.join(', ')})`);
  }
  return { root, config, onnxFile, tokenizerJson, tokenizerConfig, tokenizerFile };
}
