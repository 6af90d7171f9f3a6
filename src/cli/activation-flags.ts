import { InputError } from '../errors.js';
import { parseLayerSelection, parsePositions, type ActivationPosition, type LayerSelection } from '../inference/onnx/activation-spec.js';
import type { BuildArgs } from './build-options.js';

/** What `--capture-activations` asks the onnx backend for. */
export interface ActivationCaptureRequest {
  layers: LayerSelection;
  positions: ActivationPosition[];
}

/**
 * `--capture-activations` and its flags, checked: undefined without it. Layers default to all, positions to
 * last-prompt. Each problem is an InputError naming its flag; layer numbers are checked against the model later.
 */
export function activationCaptureOf(args: BuildArgs): ActivationCaptureRequest | undefined {
  if (!args.captureActivations) {
    const given = args.activationLayers !== undefined ? '--activation-layers' : args.activationPositions !== undefined ? '--activation-positions' : null;
    if (given !== null) throw new InputError(`${given} needs --capture-activations`);
    return undefined;
  }
  if (args.backend !== 'onnx') {
    throw new InputError(`--capture-activations needs --backend onnx: the ${args.backend} backend runs no model here to read activations from`);
  }
  // A list flag may be repeated or comma-separated: `--activation-layers 0 --activation-layers 6` is `0,6`.
  const layers = args.activationLayers?.join(',') ?? 'all';
  return { layers: parseLayerSelection(layers), positions: parsePositions(args.activationPositions?.join(',') ?? 'last-prompt') };
}
