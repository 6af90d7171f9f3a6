/**
 * A custom pipeline from the exported building blocks: label the reference solutions of the `prompt` split,
 * with a per-record timeout, retries and a GC every 50 records, and keep only a small summary per problem
 * (no journal, no Parquet). In your own project import from 'mbpp-stream' instead of '../src/index.js'.
 *
 *   npx tsx examples/custom-pipeline.ts path/to/mbpp.jsonl
 */
import { from, lastValueFrom, map, mergeMap, toArray } from 'rxjs';
import {
  abortable, createExecutor, createReferenceBackend, extractCode, gcEvery, loadBalance, loadMbpp,
  promptedItems, retryWithBackoff, selectRecords, thesisTemplate, timeoutPerRecord,
} from '../src/index.js';

export async function labelPromptSplit(datasetPath: string) {
  const { records } = await loadMbpp(datasetPath);
  const backend = createReferenceBackend();
  const executor = await createExecutor({ isolation: 'auto' });
  try {
    return await lastValueFrom(
      from(promptedItems(selectRecords(records, { split: 'prompt' }), thesisTemplate(), 1)).pipe(
        loadBalance(backend.sessions, (item, session) =>
          abortable((signal) => session.generate({ item, signal })).pipe(timeoutPerRecord(60_000), map((completion) => ({ item, completion }))),
        ),
        mergeMap(({ item, completion }) =>
          abortable((signal) =>
            executor.execute({ code: completion.code ?? extractCode(completion.text), setupCode: item.record.test_setup_code, tests: item.record.test_list, signal }),
          ).pipe(
            timeoutPerRecord(60_000),
            retryWithBackoff({ maxRetries: 2 }),
            map((outcome) => ({ task_id: item.record.task_id, passed: outcome.testResults.filter((test) => test.passed).length, total: item.record.test_list.length })),
          ),
          executor.parallelism,
        ),
        gcEvery(50),
        toArray(),
      ),
    );
  } finally {
    await executor.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await labelPromptSplit(process.argv[2] ?? 'fixtures/mbpp-sample.jsonl');
  console.table(rows.sort((a, b) => a.task_id - b.task_id));
}
