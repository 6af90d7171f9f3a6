import { statfs } from 'node:fs/promises';
import { relative } from 'node:path';
import { formatBytes } from '../monitor/byte-format.js';
import { readNvidiaGpus } from '../monitor/gpu-reader.js';
import { runPreflight, type PreflightCheck, type PreflightResult } from '../monitor/preflight.js';
import {
  containmentCheck,
  cudaProviderCheck,
  diskSpaceCheck,
  estimateRunDiskBytes,
  gpuCheck,
  judgeImportsCheck,
  machineCheck,
  nearestExistingDir,
  nodeVersionCheck,
  pathFoundCheck,
  pythonCheck,
  sandboxCheck,
} from '../monitor/preflight-checks.js';
import { chooseIsolation } from '../sandbox/isolation.js';
import { probeJudgeEnvironment } from '../sandbox/judge-environment.js';
import { resolvePython, type PythonInstall } from '../sandbox/python.js';
import type { BuildArgs } from './build-options.js';

/** The preflight of a run and the interpreter it found, so the executor does not probe for it again. */
export interface PreflightOutcome {
  result: PreflightResult;
  python: PythonInstall | undefined;
}

/** GPU indices named by `--devices cuda:0,cuda:1` (none for `cpu`). Malformed values are the backend's to refuse. */
function requestedGpus(devices: string | undefined): number[] {
  return (devices ?? '')
    .split(',')
    .map((part) => /^cuda:(\d+)$/.exec(part.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]));
}

/**
 * The checks every build runs first (and `mbpp-stream preflight` prints): Node, Python, sandbox, machine,
 * disk against the run's estimate, GPUs against `--devices`, the CUDA provider, dataset and model found.
 */
export async function preflightFor(args: BuildArgs, records: number): Promise<PreflightOutcome> {
  let python: PythonInstall | undefined;
  const probePython = async () => (python ??= await resolvePython(args.python));
  const gpus = requestedGpus(args.devices);
  const wantsCuda = args.backend === 'onnx' && gpus.length > 0;
  const probeLevel = async () => chooseIsolation(args.sandbox, await probePython());
  const probeJudge = async () => probeJudgeEnvironment(await probePython(), await probeLevel());
  const checks: PreflightCheck[] = [
    nodeVersionCheck(),
    pythonCheck(probePython),
    sandboxCheck(probeLevel),
    containmentCheck(probeJudge, args.allowUncontained),
    judgeImportsCheck(probeJudge),
    machineCheck(),
    diskSpaceCheck(args.outputDir, estimateRunDiskBytes(records * args.samples)),
    gpuCheck(gpus, () => readNvidiaGpus()),
    cudaProviderCheck(wantsCuda, async () => (await import('../inference/onnx/ort-session-factory.js')).cudaProviderInstalled()),
  ];
  if (args.dataset) checks.push(pathFoundCheck('dataset', '--dataset', args.dataset));
  if (args.originalDataset) checks.push(pathFoundCheck('original dataset', '--original-dataset', args.originalDataset));
  const model = args.model;
  if (args.backend === 'onnx' && model) checks.push(modelCheck(model, args));
  return { result: await runPreflight(checks), python };
}

/**
 * Where `--model` is found (a directory, the models dir, the Hugging Face cache) or what will be downloaded from the
 * Hub, with the ONNX variant and size; fails when the cache's disk cannot hold the download.
 */
function modelCheck(model: string, args: Pick<BuildArgs, 'modelsDir' | 'dtype'>): PreflightCheck {
  return {
    name: 'model',
    run: async () => {
      const { planModel } = await import('../inference/onnx/model-resolution.js');
      const { hubEnvironmentFrom } = await import('../inference/hub/hub-environment.js');
      const hub = hubEnvironmentFrom();
      const plan = await planModel(model, { modelsDir: args.modelsDir, dtype: args.dtype, hub });
      const graph = plan.onnxFile === undefined ? 'no ONNX graph' : `${plan.dtype} (${relative(plan.dir, plan.onnxFile)})`;
      const at = plan.commit === undefined ? '' : ` at ${plan.commit.slice(0, 12)}`;
      const head = `${plan.name}: ${graph}, ${formatBytes(plan.bytes)}`;
      switch (plan.source) {
        case 'directory':
          return { status: 'ok', detail: `${head}, directory ${plan.dir}` };
        case 'models-dir':
          return { status: 'ok', detail: `${head}, models dir ${plan.dir}` };
        case 'hf-cache':
          return { status: 'ok', detail: `${head}, Hugging Face cache${at} (${plan.dir})` };
        case 'hub': {
          const cache = await nearestExistingDir(hub.cacheDir);
          const stats = await statfs(cache);
          const free = Number(stats.bavail) * Number(stats.bsize);
          const detail = `${head}, to download: ${formatBytes(plan.downloadBytes)} from ${hub.endpoint}${at} into ${hub.cacheDir}`;
          if (free < plan.downloadBytes) return { status: 'fail', detail: `${detail}, but only ${formatBytes(free)} free there` };
          return { status: 'ok', detail };
        }
      }
    },
  };
}
