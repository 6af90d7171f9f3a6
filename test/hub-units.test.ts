import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { createDownloadProgress } from '../src/inference/hub/download-progress.js';
import { hubEnvironmentFrom } from '../src/inference/hub/hub-environment.js';
import { parseModelReference } from '../src/inference/hub/model-reference.js';
import { chooseVariant, onnxVariants, type RepoFile } from '../src/inference/hub/onnx-variants.js';

const files = (...paths: string[]): RepoFile[] => paths.map((path) => ({ path, size: 1 }));

describe('model references', () => {
  it('org/name[@revision], legacy ids, and paths that are not ids', () => {
    assert.deepEqual(parseModelReference('google/gemma-2-2b'), { repo: 'google/gemma-2-2b', revision: 'main', explicitRevision: false });
    assert.deepEqual(parseModelReference('org/tiny@v1.0'), { repo: 'org/tiny', revision: 'v1.0', explicitRevision: true });
    assert.deepEqual(parseModelReference('org/tiny@refs/pr/1'), { repo: 'org/tiny', revision: 'refs/pr/1', explicitRevision: true });
    assert.equal(parseModelReference('gpt2')?.repo, 'gpt2');
    for (const notAnId of ['./model', '/data/model', 'a/b/c', '../x', 'org/', 'org/name@', 'org/-bad', 'org/a..b', 'org/name@../x']) {
      assert.equal(parseModelReference(notAnId), undefined, notAnId);
    }
  });
});

describe('ONNX variants', () => {
  const repo = files(
    'config.json', 'tokenizer.json', 'tokenizer_config.json', 'README.md', 'model.safetensors',
    'onnx/model.onnx', 'onnx/model.onnx_data', 'onnx/model_fp16.onnx', 'onnx/model_fp16.onnx_data', 'onnx/model_fp16.onnx_data_1',
    'onnx/model_quantized.onnx', 'onnx/model_q4f16.onnx', 'onnx/decoder_model_merged.onnx',
  );

  it('names each graph by the dtype transformers.js gives its suffix, with its external data', () => {
    assert.deepEqual(onnxVariants(repo).map((v) => [v.dtype, v.graph, v.externalData]), [
      ['fp32', 'onnx/model.onnx', ['onnx/model.onnx_data']],
      ['fp16', 'onnx/model_fp16.onnx', ['onnx/model_fp16.onnx_data', 'onnx/model_fp16.onnx_data_1']],
      ['q8', 'onnx/model_quantized.onnx', []],
      ['q4f16', 'onnx/model_q4f16.onnx', []],
    ]);
  });

  it('picks fp32 by default, the asked dtype otherwise, and only the files the backend reads', () => {
    const fp16 = chooseVariant(repo, 'float16');
    assert.ok(fp16.ok);
    assert.deepEqual(fp16.files.map((f) => f.path), ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_fp16.onnx', 'onnx/model_fp16.onnx_data', 'onnx/model_fp16.onnx_data_1']);
    const fallback = chooseVariant(files('config.json', 'tokenizer.json', 'onnx/model_quantized.onnx'), undefined);
    assert.ok(fallback.ok && fallback.variant.dtype === 'q8');
    assert.deepEqual(chooseVariant(repo, 'int4'), { ok: false, reason: 'no-dtype', offered: ['fp32', 'fp16', 'q8', 'q4f16'] });
    assert.deepEqual(chooseVariant(files('config.json', 'model.safetensors'), undefined), { ok: false, reason: 'no-onnx', onnxFiles: [] });
    assert.deepEqual(chooseVariant(files('config.json', 'model.onnx'), undefined), { ok: false, reason: 'missing', missing: ['tokenizer.json'] });
  });

  it('a top-level model.onnx (plain optimum-cli export) counts; onnx/ wins when both have one', () => {
    assert.deepEqual(onnxVariants(files('model.onnx', 'onnx/model.onnx')).map((v) => v.graph), ['onnx/model.onnx']);
    assert.deepEqual(onnxVariants(files('model.onnx', 'model.onnx.data')).map((v) => v.externalData), [['model.onnx.data']]);
  });
});

describe('the Hub environment', () => {
  it('follows huggingface_hub: HF_HUB_CACHE over HF_HOME over XDG_CACHE_HOME; HF_ENDPOINT; truthy HF_HUB_OFFLINE', () => {
    assert.equal(hubEnvironmentFrom({ HF_HUB_CACHE: '/a', HF_HOME: '/b' }).cacheDir, '/a');
    assert.equal(hubEnvironmentFrom({ HF_HOME: '/b', XDG_CACHE_HOME: '/c' }).cacheDir, '/b/hub');
    assert.equal(hubEnvironmentFrom({ XDG_CACHE_HOME: '/c' }).cacheDir, '/c/huggingface/hub');
    assert.equal(hubEnvironmentFrom({ HF_ENDPOINT: 'http://127.0.0.1:9/' }).endpoint, 'http://127.0.0.1:9');
    assert.equal(hubEnvironmentFrom({}).endpoint, 'https://huggingface.co');
    assert.equal(hubEnvironmentFrom({ HF_HUB_OFFLINE: '1' }).offline, true);
    assert.equal(hubEnvironmentFrom({ HF_HUB_OFFLINE: 'YES' }).offline, true);
    assert.equal(hubEnvironmentFrom({ HF_HUB_OFFLINE: '0' }).offline, false);
  });

  it('reads the token from HF_TOKEN, else the file huggingface-cli login writes; it never prints', async () => {
    const home = await mkdtemp(join(tmpdir(), 'hf-home-'));
    await writeFile(join(home, 'token'), 'hf_from_login_file\n');
    assert.equal(hubEnvironmentFrom({ HF_HOME: home }).token?.reveal(), 'hf_from_login_file');
    const env = hubEnvironmentFrom({ HF_HOME: home, HF_TOKEN: 'hf_secret_value' });
    assert.equal(env.token?.bearer(), 'Bearer hf_secret_value');
    for (const shown of [JSON.stringify(env), inspect(env), `${env.token}`, String(env.token)]) assert.doesNotMatch(shown, /hf_secret_value/);
    assert.equal(hubEnvironmentFrom({ HF_HOME: join(home, 'none') }).token, undefined);
  });
});

describe('download progress', () => {
  it('without a terminal: a line per file, bytes/rate/ETA lines, and a closing line with the average rate', () => {
    const stream = new PassThrough();
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
    let clock = 0;
    const progress = createDownloadProgress({ mode: 'lines', stream, lineEveryMs: 10_000, now: () => clock });
    progress.start('org/tiny (fp32)', 10 * 1024 * 1024, 2);
    progress.file('onnx/model.onnx', 10 * 1024 * 1024);
    for (let second = 1; second <= 20; second++) {
      clock = second * 1000;
      progress.bytes(512 * 1024);
    }
    progress.succeed('org/tiny is in /cache');
    const lines = text.trim().split('\n');
    assert.equal(lines[0], 'downloading org/tiny (fp32): 2 files, 10.0 MiB');
    assert.equal(lines[1], '  onnx/model.onnx (10.0 MiB)');
    assert.match(lines[2] ?? '', /^ {2}5\.0 MiB \/ 10\.0 MiB \(50%\) 512\.0 KiB\/s ETA 10s$/);
    assert.match(lines.at(-1) ?? '', /^org\/tiny is in \/cache \(10\.0 MiB in 20s, 512\.0 KiB\/s\)$/);
  });
});
