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
  const model = args.model;
  if (args.backend === 'onnx' && model) checks.push(modelCheck(model, args.modelsDir));
  return { result: await runPreflight(checks), python };
}

/** An ONNX model dir, or a model id found in the models cache. */
function modelCheck(model: string, modelsDir: string | undefined): PreflightCheck {
  return {
    name: 'model',
    run: async () => {
      const { resolveModel } = await import('../inference/onnx/model-resolution.js');
      try {
        const resolved = await resolveModel(model, modelsDir);
        return { status: 'ok', detail: `${resolved.name} (${resolved.dir})` };
      } catch (error) {
        return { status: 'fail', detail: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
