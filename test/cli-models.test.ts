import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';
import { startHubMock, type HubMock } from './support/hub-mock-server.js';
import { latestDataset, readJson, readRowsIndependently } from './support/output-files.js';
import { REPO_ROOT, runCli } from './support/run-cli.js';

const SAMPLE = join(REPO_ROOT, 'fixtures', 'mbpp-sample.jsonl');
const TOKEN = 'hf_cli_secret_93be07';

async function tinyFiles(): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const path of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
    files[path] = await readFile(join(tinyModelDir(), path));
  }
  return files;
}

/** Every file under `dir`, read as text (binary files too: a token would show up in either). */
async function everyFileText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const texts = await Promise.all(entries.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), 'latin1')));
  return texts.join('\n');
}

describe('mbpp-stream models and build --model org/name against a local Hub', () => {
  let hub: HubMock;
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    const files = await tinyFiles();
    hub = await startHubMock({ token: TOKEN, repos: [{ id: 'org/tiny', files }, { id: 'org/gated', files, gated: true }] });
    scratch = await mkdtemp(join(tmpdir(), 'cli-models-'));
    env = { HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(scratch, 'hf-cache'), HF_HOME: join(scratch, 'hf-home'), MBPP_STREAM_MODELS_DIR: join(scratch, 'models'), HF_TOKEN: TOKEN };
  });
  after(() => hub.close());

  it('build --model org/gated downloads it (HF_TOKEN), runs end to end, and the token is written nowhere', async () => {
    const out = join(scratch, 'out');
    const preflight = await runCli(['preflight', '--model', 'org/gated', '--dataset', SAMPLE, '--output-dir', out], { env });
    assert.match(preflight.stdout, /model +org\/gated: fp32 \(onnx\/model\.onnx\), 48\d\.\d KiB, to download: 48\d\.\d KiB from http:\/\/127\.0\.0\.1:\d+ at [0-9a-f]{12} into /);
    const build = await runCli(['build', '--model', 'org/gated', '--test-run', '--dataset', SAMPLE, '--output-dir', out, '--max-new-tokens', '4'], { env });
    assert.equal(build.code, 0, build.stderr);
    assert.match(build.stderr, /^downloading org\/gated \(fp32, [0-9a-f]{12}\): 5 files, 48\d\.\d KiB$/m);
    assert.match(build.stderr, /^ {2}onnx\/model\.onnx \(471\.1 KiB\)$/m);
    assert.match(build.stderr, /^org\/gated is in .*models--org--gated\/snapshots\/[0-9a-f]{40} \(48\d\.\d KiB in \d+s/m);
    const dataset = await latestDataset(out);
    const rows = await readRowsIndependently(dataset.parquet);
    assert.equal(rows.length, 10);
    assert.ok(rows.every((row) => row.model === 'org/gated' && row.backend === 'onnx'));
    const metadata = await readJson<{ backend: Record<string, unknown> }>(dataset.metadata);
    assert.deepEqual(
      { source: metadata.backend.modelSource, commit: metadata.backend.modelCommit, dtype: metadata.backend.dtype },
      { source: 'hub', commit: hub.commitOf('org/gated'), dtype: 'fp32' },
    );
    const hubRequests = hub.requests.filter((r) => r.server === 'hub');
    assert.ok(hubRequests.length > 0 && hubRequests.every((r) => r.authorization === `Bearer ${TOKEN}`));
    assert.ok(hub.requests.filter((r) => r.server === 'cdn').every((r) => r.authorization === undefined));
    for (const text of [preflight.stdout, preflight.stderr, build.stdout, build.stderr, await everyFileText(out), await everyFileText(join(scratch, 'hf-cache'))]) {
      assert.ok(!text.includes(TOKEN), 'the token appears in output or a written file');
    }

    // The same model again, offline and with the Hub gone quiet: from the cache, no request.
    const before = hub.requests.length;
    const offline = await runCli(['build', '--model', 'org/gated', '--test-run', '--dataset', SAMPLE, '--output-dir', join(scratch, 'out2'), '--max-new-tokens', '4'], {
      env: { ...env, HF_HUB_OFFLINE: '1' },
    });
    assert.equal(offline.code, 0, offline.stderr);
    assert.match(offline.stderr, /model +org\/gated: fp32 \(onnx\/model\.onnx\), 48\d\.\d KiB, Hugging Face cache at [0-9a-f]{12} \(/);
    assert.doesNotMatch(offline.stderr, /downloading/);
    assert.equal(hub.requests.length, before);
  });

  it('models pull prints the snapshot path; list shows it; rm removes it', async () => {
    const pull = await runCli(['models', 'pull', 'org/tiny'], { env });
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(pull.stdout, `${join(scratch, 'hf-cache', 'models--org--tiny', 'snapshots', hub.commitOf('org/tiny'))}\n`);
    const again = await runCli(['models', 'pull', 'org/tiny'], { env });
    assert.match(again.stderr, /org\/tiny \(fp32\) at [0-9a-f]{12} is already in the cache/);

    const list = await runCli(['models', 'list'], { env });
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.split('\n');
    assert.match(lines[0] ?? '', /^model +revision +dtypes +size +where$/);
    assert.ok(lines.some((line) => new RegExp(`^org/tiny +main ${hub.commitOf('org/tiny').slice(0, 12)} +fp32 +48\\d\\.\\d KiB +.*models--org--tiny$`).test(line)), list.stdout);
    assert.ok(lines.some((line) => /^org\/gated +main /.test(line)), list.stdout);

    const rm = await runCli(['models', 'rm', 'org/tiny'], { env });
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /^removed .*models--org--tiny \(48\d\.\d KiB freed; Python tools share this cache\)$/m);
    assert.doesNotMatch((await runCli(['models', 'list'], { env })).stdout, /org\/tiny/);
    const missing = await runCli(['models', 'rm', 'org/tiny'], { env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^mbpp-stream: models rm: org\/tiny is in neither the Hugging Face cache/);
  });

  it('bad input: one line, exit 2', async () => {
    const notId = await runCli(['models', 'pull', './some/dir'], { env });
    assert.equal(notId.code, 2);
    assert.equal(notId.stderr, 'mbpp-stream: models pull: "./some/dir" is not a model id (org/name[@revision])\n');
    const noDtype = await runCli(['build', '--model', 'org/tiny', '--dtype', 'q4', '--test-run', '--dataset', SAMPLE, '--output-dir', join(scratch, 'out3')], { env });
    assert.equal(noDtype.code, 2);
    assert.match(noDtype.stderr, /--dtype q4: org\/tiny offers fp32/);
  });
});
