import { RecordError, type InferenceBackend, type InferenceSession } from './backend.js';

/**
 * Returns each problem's own reference solution as the "completion". It validates the harness end to end: on a
 * correct harness nearly every record is labelled correct. A problem without one fails its own record only.
 */
export function createReferenceBackend(): InferenceBackend {
  const session: InferenceSession = {
    id: 'reference',
    // No real inference happens: let the executor pool be the only limit.
    concurrency: 64,
    async generate({ item }) {
      const code = item.record.code;
      if (code.trim() === '') throw new RecordError(`task ${item.record.task_id} has no reference solution (its code field is empty)`);
      return { text: code, code, finishReason: 'stop', sessionId: 'reference' };
    },
  };
  return {
    name: 'reference',
    model: 'reference',
    sessions: [session],
    describe: () => ({ backend: 'reference' }),
    close: async () => {},
  };
}
