import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { labelPromptSplit } from '../examples/custom-pipeline.js';
import { REPO_ROOT } from './support/run-cli.js';

it("the README's custom pipeline labels the bundled sample's prompt split, every reference solution passing", async () => {
  const rows = await labelPromptSplit(join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl'));
  assert.deepEqual(rows.map((row) => row.task_id).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(rows.every((row) => row.total === 3 && row.passed === 3));
});
