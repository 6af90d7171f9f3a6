import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { InputError } from '../src/errors.ts';
import {
  bundledSamplePath,
  CACHE_FILE_NAME,
  DATASET_ENV_VAR,
  defaultCacheDir,
  locateDataset,
  MBPP_SHA256,
  type LocateOptions,
} from '../src/io/dataset-location.ts';
import { loadMbpp, selectRecords } from '../src/io/mbpp-source.ts';

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const SERVED = '{"task_id": 1}\n';
let root: string;
let server: http.Server;
let baseUrl: string;
let requests: string[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'source-location-'));
  server = http.createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url === '/mbpp.jsonl') {
      response.end(SERVED);
    } else if (request.url === '/stalls') {
      response.write('{"task_id"'); // and never ends
    } else {
      response.statusCode = 404;
      response.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

let cacheDir: string;
let caseCount = 0;
beforeEach(() => {
  requests = [];
  cacheDir = join(root, `cache-${caseCount++}`);
});

/** A closed local port: connecting fails at once, as offline does. */
async function unreachableUrl(): Promise<string> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}/mbpp.jsonl`;
}

function options(overrides: LocateOptions = {}): LocateOptions {
  return { env: {}, cacheDir, downloadUrl: `${baseUrl}/mbpp.jsonl`, expectedSha256: sha256(SERVED), ...overrides };
}

async function inputError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => assert.fail('expected an InputError'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof InputError, `expected InputError, got ${String(error)}`);
  return error.message;
}

describe('locateDataset', () => {
  test('--dataset wins over the env var and the cache, and reports its sha256', async () => {
    const flagged = join(root, 'flagged.jsonl');
    await writeFile(flagged, 'flag\n');
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, CACHE_FILE_NAME), SERVED);
    const location = await locateDataset(options({ dataset: flagged, env: { [DATASET_ENV_VAR]: '/nowhere' } }));
    assert.deepEqual(location, { path: flagged, origin: 'flag', sha256: sha256('flag\n'), bundledSample: false });
    assert.deepEqual(requests, []);
  });

  test('the env var comes next', async () => {
    const fromEnv = join(root, 'env.jsonl');
    await writeFile(fromEnv, 'env\n');
    const location = await locateDataset(options({ env: { [DATASET_ENV_VAR]: fromEnv } }));
    assert.deepEqual(location, { path: fromEnv, origin: 'env', sha256: sha256('env\n'), bundledSample: false });
  });

  test('a missing --dataset or env path is an InputError naming the flag or variable', async () => {
    assert.match(await inputError(locateDataset(options({ dataset: join(root, 'nope.jsonl') }))), /^--dataset .*nope\.jsonl: cannot read \(ENOENT\)/);
    assert.match(
      await inputError(locateDataset(options({ env: { [DATASET_ENV_VAR]: join(root, 'gone.jsonl') } }))),
      /^env MBPP_STREAM_DATASET .*gone\.jsonl: cannot read \(ENOENT\)/,
    );
  });

  test('then the cache file, when its digest is the pinned one', async () => {
    await mkdir(cacheDir, { recursive: true });
    const cached = join(cacheDir, CACHE_FILE_NAME);
    await writeFile(cached, SERVED);
    assert.deepEqual(await locateDataset(options()), { path: cached, origin: 'cache', sha256: sha256(SERVED), bundledSample: false });
    assert.deepEqual(requests, []);
  });

  test('a cache file with another digest is refused, not used', async () => {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, CACHE_FILE_NAME), 'tampered\n');
    assert.match(await inputError(locateDataset(options())), /cached dataset .* has sha256 [0-9a-f]{64}, expected .*--dataset PATH/);
  });

  test('else downloads once into the cache, then uses the cache', async () => {
    const first = await locateDataset(options());
    assert.equal(first.origin, 'download');
    assert.equal(first.path, join(cacheDir, CACHE_FILE_NAME));
    assert.equal(await readFile(first.path, 'utf8'), SERVED);
    assert.deepEqual(await readdir(cacheDir), [CACHE_FILE_NAME], 'no temp file is left behind');
    const second = await locateDataset(options());
    assert.equal(second.origin, 'cache');
    assert.deepEqual(requests, ['/mbpp.jsonl']);
  });

  test('a download with the wrong digest errors and caches nothing', async () => {
    const message = await inputError(locateDataset(options({ expectedSha256: MBPP_SHA256 })));
    assert.match(message, new RegExp(`has sha256 ${sha256(SERVED)}, expected ${MBPP_SHA256}; nothing was cached`));
    assert.deepEqual(await readdir(cacheDir).catch(() => []), []);
  });

  test('a download with the wrong digest errors even for a test run', async () => {
    await inputError(locateDataset(options({ expectedSha256: MBPP_SHA256, testRun: true })));
  });

  test('offline: an InputError naming --dataset and the env var', async () => {
    const message = await inputError(locateDataset(options({ downloadUrl: await unreachableUrl() })));
    assert.match(message, /download of http:\/\/127\.0\.0\.1:\d+\/mbpp\.jsonl failed \(ECONNREFUSED\)/);
    assert.match(message, /pass --dataset PATH \(or set MBPP_STREAM_DATASET\)/);
    assert.deepEqual(await readdir(cacheDir).catch(() => []), []);
  });

  test('an HTTP error status counts as a failed download', async () => {
    assert.match(await inputError(locateDataset(options({ downloadUrl: `${baseUrl}/missing` }))), /failed \(HTTP 404 Not Found\).*--dataset/);
  });

  test('a stalled download gives up after the timeout; a test run then uses the sample', async () => {
    const stalled = options({ downloadUrl: `${baseUrl}/stalls`, downloadTimeoutMs: 200 });
    assert.match(await inputError(locateDataset(stalled)), /stalls failed \(.*\).*--dataset/);
    assert.equal((await locateDataset({ ...stalled, testRun: true })).origin, 'bundled-sample');
    assert.deepEqual(await readdir(cacheDir).catch(() => []), []);
  });

  test('a test run with no dataset anywhere falls back to the bundled sample, and says why', async () => {
    const location = await locateDataset(options({ downloadUrl: await unreachableUrl(), testRun: true }));
    assert.equal(location.origin, 'bundled-sample');
    assert.equal(location.bundledSample, true);
    assert.equal(location.path, bundledSamplePath());
    assert.match(location.fallbackReason ?? '', /ECONNREFUSED/);
    assert.equal(location.sha256, sha256(await readFile(bundledSamplePath())));
  });
});

describe('the bundled sample', () => {
  test('is valid MBPP format: 10+ problems, task_ids 1..N, 3 asserts each, a test run takes 10', async () => {
    const loaded = await loadMbpp(bundledSamplePath());
    assert.ok(loaded.records.length >= 10);
    assert.deepEqual(
      loaded.records.map((record) => record.task_id),
      loaded.records.map((_, index) => index + 1),
    );
    for (const record of loaded.records) {
      assert.equal(record.test_list.length, 3, `task ${record.task_id}`);
      assert.match(record.code, /\bdef \w+\(/);
    }
    assert.equal(selectRecords(loaded.records, { testRun: true }).length, 10);
  });
});

describe('defaultCacheDir', () => {
  test('uses XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache' }), '/x/cache/mbpp-stream');
    assert.match(defaultCacheDir({}), /\/\.cache\/mbpp-stream$/);
  });
});
