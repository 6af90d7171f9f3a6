import onnxProto from 'onnx-proto';
import { InputError } from '../../errors.js';
import type { ActivationSpec } from './activation-spec.js';
import { residualStreamTensors } from './residual-stream.js';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;

/** Prefix of every name this module adds, so none can clash with the export's own. */
const PREFIX = 'mbpp_stream.activations';

/** Axes given as inputs (Unsqueeze, ReduceSum) need opset 13. */
const MIN_OPSET = 13;

/**
 * The graph outputs one captured layer adds, each float32 whatever the model's dtype:
 * `last` [batch, 1, hidden] is the residual stream at the step's last input position; `sum` [batch, hidden] is
 * its sum over the step's input positions that the attention mask marks real (the prompt, at the prefill).
 */
export interface LayerTaps {
  layer: number;
  last: string | null;
  sum: string | null;
}

/**
 * Extends a decoder graph (serialized ONNX) to return the residual stream after each of `spec.layers`, reduced
 * in the graph to what `spec.positions` need: a prefill over a 500-token batch of 8 would otherwise copy
 * 8 x 500 x hidden values per layer out of the graph to keep one or two vectors per row. No node of the model
 * changes; the added ones only read its tensors, so the logits and the KV cache are the same as without them.
 */
export function withActivationTaps(model: Uint8Array, spec: ActivationSpec, numLayers: number, file: string): { model: Uint8Array; taps: LayerTaps[] } {
  let decoded: onnxProto.onnx.ModelProto;
  try {
    decoded = onnx.ModelProto.decode(model);
  } catch (error) {
    throw new InputError(`${file}: not a loadable ONNX model (${(error as Error).message})`);
  }
  const graph = decoded.graph;
  if (graph === null || graph === undefined) throw new InputError(`${file}: the model has no graph`);
  const opset = decoded.opsetImport.find((entry) => (entry.domain ?? '') === '' || entry.domain === 'ai.onnx');
  if (opset === undefined || Number(opset.version) < MIN_OPSET) {
    throw new InputError(`${file}: --capture-activations needs an ONNX opset >= ${MIN_OPSET} (the graph has ${opset ? Number(opset.version) : 'none'}); re-export it with a newer opset`);
  }
  const stream = residualStreamTensors(graph, numLayers, file);
  const needLast = spec.positions.includes('last-prompt') || spec.positions.includes('mean-generated');
  const needSum = spec.positions.includes('mean-prompt');

  const nodes: NodeProto[] = [];
  const op = (opType: string, inputs: string[], output: string, attributes: onnxProto.onnx.IAttributeProto[] = []): string => {
    nodes.push({ opType, input: inputs, output: [output], name: `${output}.node`, attribute: attributes });
    return output;
  };
  const constants: TensorProto[] = [];
  const int64 = (name: string, values: bigint[]): string => {
    const data = BigInt64Array.from(values);
    constants.push({ name: `${PREFIX}.${name}`, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return `${PREFIX}.${name}`;
  };
  const cast = (to: number): onnxProto.onnx.IAttributeProto[] => [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: to }];
  const toFloat = cast(onnx.TensorProto.DataType.FLOAT);
  const toBool = cast(onnx.TensorProto.DataType.BOOL);
  const keepdimsOff = [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }];
  const axis1 = int64('axis_1', [1n]);
  const end = int64('end', [9223372036854775807n]);

  // Which of this step's input positions are real: the last S columns of attention_mask (past + new), [B, S, 1].
  // Where, not a multiply by the mask: a padding position's hidden state may be NaN in some exports, and NaN * 0 is NaN.
  let realPositions = '';
  const zero = `${PREFIX}.zero`;
  if (needSum) {
    const two = int64('two', [2n]);
    const seqLen = op('Slice', [op('Shape', ['input_ids'], `${PREFIX}.input_shape`), axis1, two], `${PREFIX}.seq_len`);
    const tail = op('Slice', ['attention_mask', op('Neg', [seqLen], `${PREFIX}.neg_seq_len`), end, axis1], `${PREFIX}.step_mask`);
    realPositions = op('Unsqueeze', [op('Cast', [tail], `${PREFIX}.step_mask_bool`, toBool), two], `${PREFIX}.step_real`);
    constants.push({ name: zero, dims: [], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(4) });
  }
  const lastIndex = int64('minus_one', [-1n]);
  const taps = spec.layers.map((layer): LayerTaps => {
    const hidden = stream[layer] as string;
    const name = `${PREFIX}.layer_${layer}`;
    const last = needLast ? op('Cast', [op('Slice', [hidden, lastIndex, end, axis1], `${name}.last_raw`)], `${name}.last`, toFloat) : null;
    const sum = needSum
      ? op('ReduceSum', [op('Where', [realPositions, op('Cast', [hidden], `${name}.f32`, toFloat), zero], `${name}.real`), axis1], `${name}.sum`, keepdimsOff)
      : null;
    return { layer, last, sum };
  });
  graph.node = [...(graph.node ?? []), ...nodes];
  graph.initializer = [...(graph.initializer ?? []), ...constants];
  const outputs = taps.flatMap((tap) => [tap.last, tap.sum]).filter((name): name is string => name !== null);
  graph.output = [
    ...(graph.output ?? []),
    ...outputs.map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } })),
  ];
  return { model: onnx.ModelProto.encode(decoded).finish(), taps };
}
