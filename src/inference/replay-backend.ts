import type { Generations } from '../io/generations-source.js';
import { RecordError, type InferenceBackend, type InferenceSession } from './backend.js';

/**
 * Serves completions recorded earlier (`--generations FILE`), so existing generations are labelled without a
 * model. A sample the file lacks fails its record (a `RecordError` naming the file), never the session. An EvalPlus
 * `completion` on an MBPP+ problem is run as EvalPlus runs it: after the MBPP+ prompt, without code extraction.
 */
export function createReplayBackend(generations: Generations, modelName?: string): InferenceBackend {
  const session: InferenceSession = {
    id: 'replay',
    // Lookups are instant; the executor pool is the only limit.
    concurrency: 64,
    async generate({ item }) {
      const completion = generations.get(item.record.task_id, item.sampleIndex);
      if (completion === undefined) {
        throw new RecordError(`--generations ${generations.path} has no generation for task ${item.record.task_id} sample ${item.sampleIndex}`);
      }
      const { continuesPrompt, ...stored } = completion;
      const plusPrompt = continuesPrompt === true ? item.record.plus?.prompt : undefined;
      return { ...stored, ...(plusPrompt === undefined ? {} : { code: plusPrompt + stored.text }), sessionId: 'replay' };
    },
  };
  return {
    name: 'replay',
    // `--model` names the model that made the generations; else the file's digest identifies them.
    model: modelName ?? `replay:${generations.sha256.slice(0, 12)}`,
    sessions: [session],
    describe: () => ({ backend: 'replay', generations: generations.path, generations_sha256: generations.sha256 }),
    close: async () => {},
  };
}
