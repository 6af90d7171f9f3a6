import { InputError } from '../../errors.js';

/**
 * Where in a record's tokens a residual-stream vector is taken: the last prompt token (what the model "thinks"
 * just before it writes), the mean over the prompt's tokens, or the mean over the generated tokens.
 */
export type ActivationPosition = 'last-prompt' | 'mean-prompt' | 'mean-generated';

export const ACTIVATION_POSITIONS: readonly ActivationPosition[] = ['last-prompt', 'mean-prompt', 'mean-generated'];

/** `--activation-layers` as given: every layer, or indices (negative ones count from the end, -1 the last). */
export type LayerSelection = 'all' | number[];

/** What a session captures: resolved decoder-layer indices (ascending) and positions (in ACTIVATION_POSITIONS order). */
export interface ActivationSpec {
  layers: number[];
  positions: ActivationPosition[];
}

/** Parses `--activation-layers` (`all`, or a comma list like `0,6,-1`; `all` in the list means every layer). */
export function parseLayerSelection(text: string): LayerSelection {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.includes('all')) return 'all';
  return parts.map((part) => {
    if (!/^-?\d+$/.test(part)) throw new InputError(`--activation-layers: "${part}" is not a layer index (use integers like 0,6,-1, or all)`);
    return Number(part);
  });
}

/** Parses `--activation-positions`: a comma list of last-prompt, mean-prompt, mean-generated. */
export function parsePositions(text: string): ActivationPosition[] {
  const given = new Set(text.split(',').map((part) => part.trim()));
  for (const part of given) {
    if (!ACTIVATION_POSITIONS.includes(part as ActivationPosition)) {
      throw new InputError(`--activation-positions: "${part}" is not a position (use ${ACTIVATION_POSITIONS.join(', ')})`);
    }
  }
  return ACTIVATION_POSITIONS.filter((position) => given.has(position));
}

/** The selection's layer indices for a model of `numLayers` layers, ascending and once each. */
export function resolveLayers(selection: LayerSelection, numLayers: number): number[] {
  if (selection === 'all') return Array.from({ length: numLayers }, (_, i) => i);
  const layers = selection.map((layer) => {
    const index = layer < 0 ? numLayers + layer : layer;
    if (index < 0 || index >= numLayers) {
      throw new InputError(`--activation-layers: layer ${layer} does not exist; the model has ${numLayers} decoder layers (0-${numLayers - 1})`);
    }
    return index;
  });
  return [...new Set(layers)].sort((a, b) => a - b);
}
