import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startMockServer, type MockServer } from './support/openai-mock-server.js';
import { latestDataset, readRowsIndependently } from './support/output-files.js';
import { REPO_ROOT, runCli } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');
const SECRET = 'sk-test-do-not-log-0123456789';

describe('mbpp-stream build --backend openai against two vLLM-like servers', () => {
  let dir: string;
  let servers: MockServer[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-cli-openai-'));
    const problems = (await readFile(SAMPLE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { text: string; code: string });
    // The "model" answers each prompt with that problem's reference solution, as a raw continuation.
    const generate = (prompt: string) => ({ text: `\n${problems.find((p) => prompt.startsWith(p.text))?.code ?? 'pass'}\n`, finishReason: 'stop' as const });
    servers = [await startMockServer({ generate, apiKey: SECRET }), await startMockServer({ generate, apiKey: SECRET, latencyMs: 20 })];
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('labels every record, retries a 500, records usage, finish reason and session, and never writes the API key', async () => {
    servers[0]!.enqueue({ kind: 'status', status: 500, body: { object: 'error', message: 'engine overloaded', code: 500 } });
    const out = join(dir, 'out');
    const run = await runCli(
      ['build', '--backend', 'openai', '--model', 'google/gemma-2-2b', '--dataset', SAMPLE, '--end', '5', '--output-dir', out,
        ...servers.flatMap((server) => ['--endpoint', `${server.url}/v1`]), '--concurrency', '2'],
      { env: { OPENAI_API_KEY: SECRET } },
    );
    assert.equal(run.code, 0, run.stderr);
    const files = await latestDataset(out);
    const rows = await readRowsIndependently(files.parquet);
    assert.equal(rows.length, 6);
    assert.ok(rows.every((row) => row.is_correct === true && row.finish_reason === 'stop'), JSON.stringify(rows.map((r) => r.test_errors)));
    assert.ok(rows.every((row) => (row.prompt_tokens as number) > 0 && (row.completion_tokens as number) > 0));
    assert.ok(rows.some((row) => (row.attempts as number) > 1), 'the record that met the 500 was retried');
    assert.deepEqual(new Set(rows.map((row) => String(row.session_id).split(' ')[0])), new Set(['openai']));
    for (const file of [files.metadata, files.json, ...(await readdir(join(out, 'mbpp_logs'))).map((name) => join(out, 'mbpp_logs', name))]) {
      assert.ok(!(await readFile(file, 'utf8')).includes(SECRET), `${file} must not contain the API key`);
    }
    assert.ok(!run.stderr.includes(SECRET));
  });

  it('when every endpoint stays down past --max-outage the run stops with a one-line reason, exit 1, and the same command can resume later', async () => {
    // A port that refuses connections: bind one, note it, close it.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const config = join(dir, 'fast-retries.json');
    await writeFile(config, JSON.stringify({ retry_backoff: 0.05 }));
    const out = join(dir, 'down');
    const run = await runCli(
      ['build', '--backend', 'openai', '--model', 'google/gemma-2-2b', '--dataset', SAMPLE, '--end', '2', '--output-dir', out,
        '--endpoint', `http://127.0.0.1:${port}/v1`, '--config', config, '--max-outage', '1s'],
      { env: { OPENAI_API_KEY: SECRET } },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /no inference session is up: pausing, probing for up to 1s until one comes back/);
    assert.match(run.stderr, /stopped: no inference session came back within 1s of the last one going down: openai .*ECONNREFUSED/);
    assert.match(run.stderr, /Resume with the same command/);
    assert.doesNotMatch(run.stderr, /unexpected failure/);
    assert.ok((await readdir(join(out, 'mbpp_datasets', 'runs'))).length === 1, 'the run is kept for a resume');
  });
});
