import type onnxProto from 'onnx-proto';
import { InputError } from '../../errors.js';

type GraphProto = onnxProto.onnx.IGraphProto;
type NodeProto = onnxProto.onnx.INodeProto;

/** Ops a token embedding may pass through before the first layer (gemma scales it by sqrt(hidden), fp16 exports cast). */
const EMBEDDING_SCALING = new Set(['Mul', 'Cast']);

/** A layer number in an exporter's node name: torch's `/model/layers.3/Add_1`, or `layers.3.` in other exporters. */
const LAYER_IN_NAME = /(?:^|[/.])layers\.(\d+)[/.]/;

/**
 * The residual stream of a decoder graph: per decoder layer, the name of the tensor that is that layer's output
 * (the hidden state the next layer reads, before the final norm). Found from the graph's structure, so it
 * works whatever the exporter named things: the stream starts at the token embedding (the Gather that reads
 * `input_ids`, through a scaling Mul or Cast if there is one), and each residual connection is the single Add
 * that reads the current stream tensor itself (norms, attention and MLP read it through other ops). A pre-norm
 * decoder layer (llama, mistral, qwen2, gemma, gemma-2, phi-3) has two, attention then MLP; one more in front
 * is a learned position embedding (GPT-2 style). Where node names carry layer numbers (torch exports:
 * `/model/layers.3/Add_1`), each found layer's Add must carry its own number, which catches a wrong walk.
 */
export function residualStreamTensors(graph: GraphProto, numLayers: number, file: string): string[] {
  const nodes = graph.node ?? [];
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  }
  const embedding = nodes.find((node) => node.opType === 'Gather' && node.input?.[1] === 'input_ids');
  const unsupported = (why: string): InputError =>
    new InputError(`${file}: --capture-activations cannot find the residual stream (${why}); it supports pre-norm decoders exported by optimum (llama, mistral, qwen2, gemma, phi-3)`);
  if (embedding?.output?.[0] === undefined) throw unsupported('no Gather reads input_ids as the token embedding');

  let stream = embedding.output[0];
  const residualAdds: NodeProto[] = [];
  for (;;) {
    const readers = consumers.get(stream) ?? [];
    const adds = readers.filter((node) => node.opType === 'Add');
    if (adds.length > 1) throw unsupported(`${adds.length} Add nodes read ${stream}`);
    const next = adds[0] ?? (residualAdds.length === 0 ? onlyScaling(readers) : undefined);
    if (next?.output?.[0] === undefined) break;
    if (next.opType === 'Add') residualAdds.push(next);
    stream = next.output[0];
  }
  const extra = residualAdds.length - 2 * numLayers;
  if (extra !== 0 && extra !== 1) {
    throw unsupported(`found ${residualAdds.length} residual additions for ${numLayers} layers, expected ${2 * numLayers}`);
  }
  return Array.from({ length: numLayers }, (_, layer) => {
    const add = residualAdds[extra + 2 * layer + 1] as NodeProto;
    const named = LAYER_IN_NAME.exec(add.name ?? '');
    if (named !== null && Number(named[1]) !== layer) {
      throw unsupported(`the output found for layer ${layer} comes from node ${add.name}`);
    }
    return add.output?.[0] as string;
  });
}

/** The one scaling op reading the embedding, if that is all there is between it and the first layer. */
function onlyScaling(readers: NodeProto[]): NodeProto | undefined {
  const scaling = readers.filter((node) => EMBEDDING_SCALING.has(node.opType ?? ''));
  return scaling.length === 1 ? scaling[0] : undefined;
}
