/**
 * Which files of a model repo (or directory) the onnx backend needs, in the layout optimum and transformers.js
 * exports use: `config.json`, `generation_config.json`, tokenizer files, and one decoder graph with its external
 * data, `onnx/model.onnx` (fp32), `onnx/model_fp16.onnx`, `onnx/model_quantized.onnx` (q8), … or `model.onnx` at the
 * top (plain `optimum-cli export onnx`).
 */

/** A file of the repo, relative to its root with `/` separators. */
export interface RepoFile {
  path: string;
  size: number;
}

/** One decoder graph of the repo and the data files that go with it. */
export interface OnnxVariant {
  /** `fp32`, `fp16`, `q8`, `int8`, `uint8`, `q4`, `q4f16`, `bnb4`, or the file's own suffix (`model_<suffix>.onnx`). */
  dtype: string;
  graph: string;
  /** `model.onnx_data`, `model.onnx_data_1`, `model.onnx.data`: weights kept beside a graph over 2 GB. */
  externalData: string[];
}

/** `model_<suffix>.onnx` -> dtype, as transformers.js names its exports; no suffix is fp32. */
const SUFFIX_DTYPE: Readonly<Record<string, string>> = { '': 'fp32', fp16: 'fp16', quantized: 'q8' };

/** The one taken when `--dtype` is not given: full precision first, then the smaller exports. */
const DTYPE_PREFERENCE = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4f16', 'q4', 'bnb4'];

const DTYPE_ALIASES: Readonly<Record<string, string>> = { float32: 'fp32', float16: 'fp16', quantized: 'q8' };

/** Model files beside the graph; the first two of them the backend cannot do without. */
export const REQUIRED_MODEL_FILES = ['config.json', 'tokenizer.json'];
const OPTIONAL_MODEL_FILES = ['generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json'];

const GRAPH = /^(?:onnx\/)?model(?:_([A-Za-z0-9]+))?\.onnx$/;

export function normalizeDtype(dtype: string): string {
  const lower = dtype.trim().toLowerCase();
  return DTYPE_ALIASES[lower] ?? lower;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The decoder graphs among `files`, one per dtype (`onnx/` before the top level), in preference order. */
export function onnxVariants(files: readonly RepoFile[]): OnnxVariant[] {
  const paths = files.map((file) => file.path);
  const byDtype = new Map<string, OnnxVariant>();
  for (const graph of [...paths].sort((a, b) => Number(b.startsWith('onnx/')) - Number(a.startsWith('onnx/')))) {
    const match = GRAPH.exec(graph);
    if (match === null) continue;
    const suffix = match[1] ?? '';
    const dtype = SUFFIX_DTYPE[suffix] ?? suffix.toLowerCase();
    if (byDtype.has(dtype)) continue;
    const data = new RegExp(`^${escapeRegExp(graph)}(?:_data(?:_\\d+)?|\\.data)$`);
    byDtype.set(dtype, { dtype, graph, externalData: paths.filter((path) => data.test(path)).sort() });
  }
  const rank = (dtype: string): number => {
    const index = DTYPE_PREFERENCE.indexOf(dtype);
    return index < 0 ? DTYPE_PREFERENCE.length : index;
  };
  return [...byDtype.values()].sort((a, b) => rank(a.dtype) - rank(b.dtype) || a.dtype.localeCompare(b.dtype));
}

export type VariantChoice =
  | { ok: true; variant: OnnxVariant; files: RepoFile[] }
  /** No decoder graph at all; `onnxFiles` lists any other `.onnx` files (an old multi-graph export, an encoder). */
  | { ok: false; reason: 'no-onnx'; onnxFiles: string[] }
  | { ok: false; reason: 'no-dtype'; offered: string[] }
  | { ok: false; reason: 'missing'; missing: string[] };

/** The variant `dtype` asks for (the preferred one when undefined) and every file to fetch for it. */
export function chooseVariant(files: readonly RepoFile[], dtype: string | undefined): VariantChoice {
  const variants = onnxVariants(files);
  if (variants.length === 0) {
    return { ok: false, reason: 'no-onnx', onnxFiles: files.map((f) => f.path).filter((p) => p.endsWith('.onnx')) };
  }
  const wanted = dtype === undefined ? undefined : normalizeDtype(dtype);
  const variant = wanted === undefined ? variants[0] : variants.find((v) => v.dtype === wanted);
  if (variant === undefined) return { ok: false, reason: 'no-dtype', offered: variants.map((v) => v.dtype) };
  const byPath = new Map(files.map((file) => [file.path, file]));
  const missing = REQUIRED_MODEL_FILES.filter((path) => !byPath.has(path));
  if (missing.length > 0) return { ok: false, reason: 'missing', missing };
  const wantedPaths = [...REQUIRED_MODEL_FILES, ...OPTIONAL_MODEL_FILES, variant.graph, ...variant.externalData];
  return { ok: true, variant, files: wantedPaths.flatMap((path) => byPath.get(path) ?? []) };
}
