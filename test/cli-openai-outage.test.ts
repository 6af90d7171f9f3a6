import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { startMockServer, type MockServer } from './support/openai-mock-server.js';
import { latestDataset, readJson, readRowsIndependently } from './support/output-files.js';
import { collect, REPO_ROOT, startCli } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures/mbpp-sample.jsonl');
const RECORDS = 6;

interface Outages {
  sessions: Array<{ session: string; started_at: string; ended_at: string | null; seconds: number; failures: number; probes: number; error: string }>;
  whole_pool: Array<{ started_at: string; ended_at: string | null; seconds: number }>;
}

/**
 * A server restart in the middle of a build. The server goes down once it has taken the first records, as a
 * crashed vLLM does (requests in flight cut, connections refused); the test waits for the run to say it is paused
 * (a real event, not a delay), then brings the server back, or not. The outage lasts a second or two rather than
 * the 20 s of a real restart: the run does the same either way (it pauses and probes, with cooldowns of 1 s, 2 s, …).
 */
describe('mbpp-stream build --backend openai when the server restarts mid-run', () => {
  let dir: string;
  let server: MockServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mbpp-cli-outage-'));
    const problems = (await readFile(SAMPLE, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { text: string; code: string });
    const generate = (prompt: string) => ({ text: `\n${problems.find((p) => prompt.startsWith(p.text))?.code ?? 'pass'}\n`, finishReason: 'stop' as const });
    // Slow enough that the records are still coming when the server goes down.
    server = await startMockServer({ generate, latencyMs: 100 });
  });
  afterEach(async () => {
    // Each test leaves the server up for the next.
    await server.restart().catch(() => undefined);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const build = (out: string, ...extra: string[]) =>
    startCli([
      'build', '--backend', 'openai', '--model', 'google/gemma-2-2b', '--dataset', SAMPLE, '--end', String(RECORDS - 1),
      '--output-dir', out, '--endpoint', `${server.url}/v1`, '--concurrency', '2', ...extra,
    ]);

  /** Resolves once the child's stderr has said `pattern`. */
  const said = (child: ReturnType<typeof startCli>, pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      let text = '';
      const listen = (chunk: Buffer) => {
        text += chunk.toString();
        if (!pattern.test(text)) return;
        child.stderr!.off('data', listen);
        resolve();
      };
      child.stderr!.on('data', listen);
      child.once('close', () => reject(new Error(`the run ended without saying ${pattern}:\n${text}`)));
    });

  /** Starts a build, takes the server down once it has served two requests, and waits for the run to pause. */
  async function buildThroughAnOutage(out: string) {
    const seen = server.requests.length;
    const child = build(out);
    const run = collect(child);
    const paused = said(child, /no inference session is up: pausing/);
    await server.waitForRequests(seen + 2);
    await server.stop();
    await paused;
    return { child, run };
  }

  it('pauses while the server is down, finishes every record once it is back (exit 0), and records the outage', async () => {
    const out = join(dir, 'restart');
    const { run } = await buildThroughAnOutage(out);
    await server.restart();
    const { code, stderr } = await run;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /back in rotation after/);
    const files = await latestDataset(out);
    const rows = await readRowsIndependently(files.parquet);
    assert.equal(rows.length, RECORDS);
    assert.ok(rows.every((row) => row.status === 'ok' && row.is_correct === true), 'no record failed for the outage');
    const { outages } = await readJson<{ outages: Outages }>(files.metadata);
    assert.equal(outages.sessions.length, 1, JSON.stringify(outages));
    const [outage] = outages.sessions;
    assert.equal(outage!.session, `openai ${server.url}/v1`);
    assert.ok(outage!.ended_at !== null && outage!.ended_at >= outage!.started_at && outage!.seconds > 0);
    // Back through a probe, or through a request that was waiting for a connection when the session went out.
    assert.ok(outage!.failures >= 1 && /ECONNREFUSED|socket hang up|ECONNRESET/.test(outage!.error), JSON.stringify(outage));
    assert.equal(outages.whole_pool.length, 1);
    assert.ok(outages.whole_pool[0]!.ended_at !== null);
  });

  it('with a short --max-outage stops cleanly (exit 1, the resume command), and the same command finishes the run', async () => {
    const out = join(dir, 'gives-up');
    const seen = server.requests.length;
    const child = build(out, '--max-outage', '1s');
    const run = collect(child);
    await server.waitForRequests(seen + 2);
    await server.stop();
    const stopped = await run;
    assert.equal(stopped.code, 1, stopped.stderr);
    assert.match(stopped.stderr, /stopped: no inference session came back within 1s .*\(--max-outage sets how long to wait\): \d+\/6 done/);
    assert.match(stopped.stderr, /Resume with the same command: mbpp-stream .*--max-outage 1s/);
    assert.doesNotMatch(stopped.stderr, /unexpected failure/);

    await server.restart();
    const resumed = await collect(build(out, '--max-outage', '1s'));
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming run/);
    const rows = await readRowsIndependently((await latestDataset(out)).parquet);
    assert.equal(rows.length, RECORDS);
    assert.ok(rows.every((row) => row.status === 'ok' && row.is_correct === true));
  });

  it('Ctrl+C while no session is up stops at once (exit 130), as nothing can go on', async () => {
    const { child, run } = await buildThroughAnOutage(join(dir, 'interrupted'));
    child.kill('SIGINT');
    const { code, stderr } = await run;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /SIGINT: no inference session is up, so no record can go on; stopping now/);
    assert.match(stderr, /stopped by SIGINT: \d+\/6 done, journal, checkpoint and autosave saved/);
  });
});
