import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { listCachedModels, removeCachedModel } from '../src/inference/hub/cached-models.js';
import { hubEnvironmentFrom, type HubEnvironment } from '../src/inference/hub/hub-environment.js';
import { downloadSnapshot, planSnapshot } from '../src/inference/hub/hub-snapshot.js';
import { parseModelReference } from '../src/inference/hub/model-reference.js';
import { OnnxBackend } from '../src/inference/onnx/onnx-backend.js';
import { planModel, resolveModel } from '../src/inference/onnx/model-resolution.js';
import { tinyModelDir } from '../src/inference/onnx/tiny-model.js';
import { startHubMock, type HubMock, type MockRepo } from './support/hub-mock-server.js';

const TOKEN = 'hf_test_secret_4f1d2a';

/** An endpoint on 127.0.0.1 where nothing listens (a port just freed). */
async function closedEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  await new Promise((closed) => server.close(closed));
  return `http://127.0.0.1:${port}`;
}

/** The bundled tiny model as the files of a Hub repo, plus what a real repo has that the backend does not need. */
async function tinyRepoFiles(): Promise<Record<string, Buffer>> {
  const dir = tinyModelDir();
  const files: Record<string, Buffer> = {};
  for (const path of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
    files[path] = await readFile(join(dir, path));
  }
  files['README.md'] = Buffer.from('# tiny\n');
  files['model.safetensors'] = randomBytes(2048);
  files['onnx/model_fp16.onnx'] = randomBytes(4096);
  files['onnx/model_fp16.onnx_data'] = randomBytes(64 * 1024);
  return files;
}

describe('models from a Hub (a local server speaking its file API)', () => {
  let hub: HubMock;
  let files: Record<string, Buffer>;
  let scratch: string;
  let cases = 0;

  before(async () => {
    files = await tinyRepoFiles();
    const repo = (id: string, extra: Partial<MockRepo> = {}): MockRepo => ({ id, files, ...extra });
    hub = await startHubMock({
      token: TOKEN,
      repos: [
        repo('org/tiny'),
        repo('org/gated', { gated: true }),
        repo('org/flaky', { breakAfterBytes: 100_000 }),
        repo('org/dead', { breakAfterBytes: 0 }),
        repo('org/corrupt', { corrupt: ['onnx/model.onnx'] }),
        { id: 'google/gemma-2-2b', files: { 'config.json': Buffer.from('{}'), 'model.safetensors': randomBytes(1024) } },
      ],
      searchable: [
        { id: 'onnx-community/gemma-2-2b-ONNX', tags: ['onnx', 'transformers.js', 'base_model:google/gemma-2-2b'] },
        { id: 'someone/llama-onnx', tags: ['onnx', 'base_model:meta-llama/Llama-3.2-1B'] },
      ],
    });
    scratch = await mkdtemp(join(tmpdir(), 'hub-download-'));
  });
  after(() => hub.close());

  /** A fresh, empty cache per case, pointed at the mock; `token` as HF_TOKEN. */
  const environment = async (env: Record<string, string> = {}): Promise<HubEnvironment> =>
    hubEnvironmentFrom({ HF_ENDPOINT: hub.url, HF_HUB_CACHE: join(scratch, `cache-${++cases}`), HF_HOME: join(scratch, 'no-home'), ...env });
  const modelsDir = () => join(scratch, 'no-models-dir');
  const requestsSince = (start: number) => hub.requests.slice(start);

  it('downloads only what the onnx backend needs into the huggingface_hub layout, then loads from the cache alone', async () => {
    const env = await environment();
    const first = hub.requests.length;
    const resolved = await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir() });
    const commit = hub.commitOf('org/tiny');
    const repoDir = join(env.cacheDir, 'models--org--tiny');
    assert.equal(resolved.source, 'hub');
    assert.equal(resolved.name, 'org/tiny');
    assert.equal(resolved.dtype, 'fp32');
    assert.equal(resolved.commit, commit);
    assert.equal(resolved.dir, join(repoDir, 'snapshots', commit));
    assert.equal((await readFile(join(repoDir, 'refs', 'main'), 'utf8')).trim(), commit);
    // Snapshot files are relative symlinks into blobs/, named by sha256 (LFS) or the git sha1.
    const graph = join(resolved.dir, 'onnx', 'model.onnx');
    assert.ok((await lstat(graph)).isSymbolicLink());
    assert.equal(await readlink(graph), join('..', '..', '..', 'blobs', hub.sha256Of(files['onnx/model.onnx']!)));
    assert.deepEqual(await readFile(graph), files['onnx/model.onnx']);
    assert.deepEqual((await readdir(resolved.dir)).sort(), ['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    assert.deepEqual(await readdir(join(resolved.dir, 'onnx')), ['model.onnx']);
    const fetched = requestsSince(first).filter((r) => r.url.includes('/resolve/')).map((r) => r.url.replace(/^.*\/resolve\/[0-9a-f]{40}\//, ''));
    assert.deepEqual(fetched.sort(), ['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
    assert.ok(requestsSince(first).every((r) => r.authorization === undefined), 'no token, no Authorization header');

    const second = hub.requests.length;
    const again = await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir() });
    assert.equal(again.source, 'hf-cache');
    assert.equal(again.dir, resolved.dir);
    assert.equal(hub.requests.length, second, 'a cached model needs no request');
  });

  it('--dtype picks the variant (its external data too); one the repo lacks is named with what it offers', async () => {
    const env = await environment();
    const fp16 = await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir(), dtype: 'fp16' });
    assert.equal(fp16.name, 'org/tiny:fp16');
    assert.equal(fp16.onnxFile, join(fp16.dir, 'onnx', 'model_fp16.onnx'));
    assert.deepEqual((await readdir(join(fp16.dir, 'onnx'))).sort(), ['model_fp16.onnx', 'model_fp16.onnx_data']);
    assert.deepEqual(await readFile(join(fp16.dir, 'onnx', 'model_fp16.onnx_data')), files['onnx/model_fp16.onnx_data']);
    // fp32 then joins the same snapshot; the shared files are not fetched again.
    const start = hub.requests.length;
    const fp32 = await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir(), dtype: 'fp32' });
    assert.equal(fp32.dir, fp16.dir);
    assert.deepEqual(requestsSince(start).filter((r) => r.url.includes('/resolve/')).map((r) => r.url.split('/').pop()), ['model.onnx']);
    await assert.rejects(resolveModel('org/tiny', { hub: env, modelsDir: modelsDir(), dtype: 'int4' }), /--dtype int4: org\/tiny offers fp32, fp16/);
  });

  it('a revision pins the commit; an unknown one is named', async () => {
    const env = await environment();
    const commit = hub.commitOf('org/tiny');
    const pinned = await resolveModel(`org/tiny@${commit}`, { hub: env, modelsDir: modelsDir() });
    assert.equal(pinned.name, `org/tiny@${commit}`);
    assert.equal(pinned.commit, commit);
    await assert.rejects(resolveModel('org/tiny@v9', { hub: env, modelsDir: modelsDir() }), /org\/tiny has no revision "v9"/);
    await assert.rejects(resolveModel('org/nothing', { hub: env, modelsDir: modelsDir() }), /no model org\/nothing on http:\/\/127\.0\.0\.1/);
  });

  it('a connection that breaks mid-file is resumed with Range requests and the result verified', async () => {
    const env = await environment();
    const start = hub.requests.length;
    const resolved = await resolveModel('org/flaky', { hub: env, modelsDir: modelsDir() });
    assert.deepEqual(await readFile(resolved.onnxFile!), files['onnx/model.onnx']);
    const ranges = requestsSince(start).filter((r) => r.server === 'cdn').map((r) => r.range);
    // The server cuts each connection after 100,000 bytes; how many of them arrive before the cut depends on the
    // socket, so each resume must start past the last one, at most 100,000 bytes on, until the file is whole.
    assert.equal(ranges[0], undefined, 'the first request asks for the whole file');
    const offsets = ranges.slice(1).map((range) => Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1]));
    assert.ok(offsets.length >= Math.ceil(files['onnx/model.onnx']!.length / 100_000) - 1, `resumes: ${String(ranges)}`);
    offsets.forEach((offset, index) => {
      const previous = index === 0 ? 0 : offsets[index - 1]!;
      assert.ok(offset > previous && offset <= previous + 100_000, `resume ${index + 1} at ${offset} after ${previous}`);
    });
  });

  it('a partial download left by an earlier run is resumed from where it stopped', async () => {
    const env = await environment();
    const graph = files['onnx/model.onnx']!;
    const blob = join(env.cacheDir, 'models--org--tiny', 'blobs', hub.sha256Of(graph));
    await mkdir(join(blob, '..'), { recursive: true });
    await writeFile(`${blob}.incomplete`, graph.subarray(0, 200_000));
    const plan = await planModel('org/tiny', { hub: env, modelsDir: modelsDir() });
    assert.equal(plan.downloadBytes, plan.bytes - 200_000);
    const start = hub.requests.length;
    await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir() });
    assert.deepEqual(requestsSince(start).filter((r) => r.server === 'cdn').map((r) => r.range), ['bytes=200000-']);
    assert.deepEqual(await readFile(blob), graph);
    await assert.rejects(stat(`${blob}.incomplete`));
  });

  it('content that does not hash to the Hub\'s sha256 is refused and nothing is cached', async () => {
    const env = await environment();
    await assert.rejects(resolveModel('org/corrupt', { hub: env, modelsDir: modelsDir() }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /downloading onnx\/model\.onnx: the content does not match the Hub's sha256 \(expected [0-9a-f]{64}, got [0-9a-f]{64}/);
      return true;
    });
    const repoDir = join(env.cacheDir, 'models--org--corrupt');
    assert.deepEqual((await readdir(join(repoDir, 'blobs'))).filter((name) => name.startsWith(hub.sha256Of(files['onnx/model.onnx']!))), []);
    await assert.rejects(stat(join(repoDir, 'snapshots')), 'no snapshot: a half model is never linked');
    await assert.rejects(stat(join(repoDir, 'refs', 'main')));

    // A corrupt leftover partial is caught the same way, discarded, and the next pull starts clean.
    const tiny = join(env.cacheDir, 'models--org--tiny', 'blobs', hub.sha256Of(files['onnx/model.onnx']!));
    await mkdir(join(tiny, '..'), { recursive: true });
    await writeFile(`${tiny}.incomplete`, randomBytes(1000));
    await assert.rejects(resolveModel('org/tiny', { hub: env, modelsDir: modelsDir() }), /does not match the Hub's sha256/);
    await assert.rejects(stat(`${tiny}.incomplete`));
    await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir() });
    assert.deepEqual(await readFile(tiny), files['onnx/model.onnx']);
  });

  it('a server that sends nothing gives up after three tries, keeping what it had for the next run', async () => {
    const env = await environment();
    const ref = parseModelReference('org/dead')!;
    const snapshot = await planSnapshot(ref, undefined, env, modelsDir());
    await assert.rejects(downloadSnapshot(snapshot, env, undefined, { retryDelayMs: 1 }), /downloading onnx\/model\.onnx stopped at 0 of 482440 bytes \(.*\); run the same command again to resume from there/);
  });

  it('a blob another live process is downloading is waited for; the lock of a dead one is taken over', async () => {
    const env = await environment();
    const graphSha = hub.sha256Of(files['onnx/model.onnx']!);
    const lock = join(env.cacheDir, '.locks', 'models--org--tiny', `${graphSha}.mbpp-stream.lock`);
    await mkdir(join(lock, '..'), { recursive: true });
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    await writeFile(lock, `${holder.pid}\n`);
    const notes: string[] = [];
    let sawNote: () => void = () => {};
    const noted = new Promise<void>((resolve) => (sawNote = resolve));
    const progress = { start() {}, file() {}, bytes() {}, succeed() {}, fail() {}, note: (line: string) => (notes.push(line), sawNote()) };
    const pending = resolveModel('org/tiny', { hub: env, modelsDir: modelsDir(), progress });
    await noted;
    assert.deepEqual(notes, [`waiting for process ${holder.pid}, which is downloading onnx/model.onnx into the same cache`]);
    holder.kill('SIGKILL');
    const resolved = await pending;
    assert.deepEqual(await readFile(resolved.onnxFile!), files['onnx/model.onnx']);
    await assert.rejects(stat(lock), 'the lock is released');
  });

  it('gated: 401 without a token, 403 with a wrong one, the token sent only to the endpoint, never the CDN', async () => {
    await assert.rejects(resolveModel('org/gated', { hub: await environment(), modelsDir: modelsDir() }), /org\/gated is gated or private .*answered 401.*set HF_TOKEN/);
    await assert.rejects(resolveModel('org/gated', { hub: await environment({ HF_TOKEN: 'hf_wrong' }), modelsDir: modelsDir() }), /HF_TOKEN's account has no access to org\/gated \(403\): request access at http:\/\/127\.0\.0\.1:\d+\/org\/gated/);
    const start = hub.requests.length;
    const resolved = await resolveModel('org/gated', { hub: await environment({ HF_TOKEN: TOKEN }), modelsDir: modelsDir() });
    assert.deepEqual(await readFile(resolved.onnxFile!), files['onnx/model.onnx']);
    const seen = requestsSince(start);
    assert.ok(seen.some((r) => r.server === 'cdn'));
    assert.ok(seen.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${TOKEN}`));
    assert.ok(seen.filter((r) => r.server === 'cdn').every((r) => r.authorization === undefined), 'the CDN never sees the token');
  });

  it('HF_HUB_OFFLINE=1: the cache only, no request; a model not there says how to get it', async () => {
    const env = await environment();
    await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir() });
    const offline = { ...env, offline: true };
    const start = hub.requests.length;
    assert.equal((await resolveModel('org/tiny', { hub: offline, modelsDir: modelsDir() })).source, 'hf-cache');
    await assert.rejects(resolveModel('org/gated', { hub: offline, modelsDir: modelsDir() }), /HF_HUB_OFFLINE is set\. Download it where there is network with `mbpp-stream models pull org\/gated`/);
    await assert.rejects(resolveModel('org/tiny', { hub: offline, modelsDir: modelsDir(), dtype: 'fp16' }), /HF_HUB_OFFLINE/);
    assert.equal(hub.requests.length, start);
  });

  it('a repo without an ONNX export: the exports the Hub knows of and the optimum-cli command, in one line', async () => {
    await assert.rejects(resolveModel('google/gemma-2-2b', { hub: await environment(), modelsDir: join(scratch, 'models') }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.doesNotMatch(error.message, /\n/);
      assert.match(error.message, /^google\/gemma-2-2b has no ONNX export at [0-9a-f]{12} on http:\/\/127\.0\.0\.1:\d+\./);
      assert.match(error.message, /ONNX exports of it on the Hub: onnx-community\/gemma-2-2b-ONNX \(use one as --model\)/);
      assert.doesNotMatch(error.message, /someone\/llama-onnx/);
      assert.ok(error.message.includes(`\`optimum-cli export onnx --model google/gemma-2-2b --task text-generation-with-past ${join(scratch, 'models', 'google__gemma-2-2b')}\``));
      return true;
    });
  });

  it('the Hub unreachable: one line naming the endpoint and offline mode', async () => {
    const nowhere = await closedEndpoint();
    const closed = await environment({ HF_ENDPOINT: nowhere });
    await assert.rejects(resolveModel('org/tiny', { hub: closed, modelsDir: modelsDir() }), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.equal(error.message, `cannot reach ${nowhere} for org/tiny (ECONNREFUSED); with no network, set HF_HUB_OFFLINE=1 and use a model already in ${closed.cacheDir}`);
      return true;
    });
  });

  it('a model that Python tools put in the cache loads with no network at all', async () => {
    // The layout huggingface_hub writes, made by hand: blobs by hash, relative links, refs/main.
    const cacheDir = join(scratch, 'python-cache');
    const commit = 'a'.repeat(40);
    const repoDir = join(cacheDir, 'models--someone--tiny-onnx');
    for (const path of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
      const blob = join(repoDir, 'blobs', hub.sha256Of(files[path]!));
      await mkdir(join(blob, '..'), { recursive: true });
      await writeFile(blob, files[path]!);
      const link = join(repoDir, 'snapshots', commit, path);
      await mkdir(join(link, '..'), { recursive: true });
      await symlink(relative(join(link, '..'), blob), link);
    }
    await mkdir(join(repoDir, 'refs'), { recursive: true });
    await writeFile(join(repoDir, 'refs', 'main'), commit);
    const nowhere = hubEnvironmentFrom({ HF_ENDPOINT: await closedEndpoint(), HF_HUB_CACHE: cacheDir });
    const backend = await OnnxBackend.open({ model: 'someone/tiny-onnx', hub: nowhere, modelsDir: modelsDir(), generation: { maxNewTokens: 2 } });
    try {
      assert.equal(backend.model, 'someone/tiny-onnx');
      assert.deepEqual(
        { source: backend.describe().modelSource, commit: backend.describe().modelCommit, dtype: backend.describe().dtype },
        { source: 'hf-cache', commit, dtype: 'fp32' },
      );
    } finally {
      await backend.close();
    }
    const inventory = await listCachedModels(cacheDir);
    assert.deepEqual(inventory.models.map((m) => [m.repo, m.revisions]), [['someone/tiny-onnx', [{ commit, refs: ['main'], dtypes: ['fp32'] }]]]);
  });

  it('rm of a revision keeps the blobs another snapshot links to; rm of the model removes its folder', async () => {
    const env = await environment();
    await resolveModel('org/tiny', { hub: env, modelsDir: modelsDir() });
    const repoDir = join(env.cacheDir, 'models--org--tiny');
    // A second snapshot sharing every blob, as after `main` moved on.
    const other = 'b'.repeat(40);
    const commit = hub.commitOf('org/tiny');
    for (const path of ['config.json', 'onnx/model.onnx']) {
      const link = join(repoDir, 'snapshots', other, path);
      await mkdir(join(link, '..'), { recursive: true });
      await symlink(await readlink(join(repoDir, 'snapshots', commit, path)), link);
    }
    const removal = await removeCachedModel(env.cacheDir, parseModelReference(`org/tiny@${commit}`)!);
    assert.deepEqual(removal?.removed, [join(repoDir, 'snapshots', commit)]);
    assert.deepEqual((await readdir(join(repoDir, 'snapshots'))), [other]);
    await assert.rejects(stat(join(repoDir, 'refs', 'main')), 'the ref to the removed commit goes too');
    assert.deepEqual((await readFile(join(repoDir, 'snapshots', other, 'onnx', 'model.onnx'))), files['onnx/model.onnx']);
    assert.equal((await readdir(join(repoDir, 'blobs'))).length, 2, 'only the blobs the other snapshot links stay');
    const whole = await removeCachedModel(env.cacheDir, parseModelReference('org/tiny')!);
    assert.deepEqual(whole?.removed, [repoDir]);
    await assert.rejects(stat(repoDir));
    assert.equal(await removeCachedModel(env.cacheDir, parseModelReference('org/tiny')!), undefined);
  });
});
