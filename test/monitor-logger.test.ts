import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { parseLogLevel, RunLogger } from '../src/monitor/run-logger.js';
import { collectVersions, installedVersion } from '../src/monitor/run-versions.js';

let tmp = '';
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mbpp-logger-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function consoleCapture() {
  const lines: string[] = [];
  return { lines, stream: { write: (text: string) => lines.push(...text.trimEnd().split('\n')) } };
}

async function readLog(file: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('run logger', () => {
  it('keeps events the progress display shows off the console, but not out of the file', async () => {
    const file = path.join(tmp, 'omits.log');
    const console = consoleCapture();
    const log = new RunLogger({ file, console: console.stream, consoleOmits: new Set(['progress', 'checkpoint']) });
    log.progress({ total: 10, done: 5, passed: 3, wrong: 1, failed: 1, retries: 0 }, { recordsPerSecond: 1, etaSeconds: 5 });
    log.checkpoint(5);
    log.failure({ task_id: 12, sample_index: 0 }, 3, new Error('backend unavailable'));
    log.close();
    assert.equal(console.lines.length, 1);
    assert.match(console.lines[0]!, /backend unavailable/);
    assert.deepEqual((await readLog(file)).map((entry) => entry.event), ['progress', 'checkpoint', 'failure']);
  });

  it('writes every event as a JSON line and a readable console line at the console level', async () => {
    const file = path.join(tmp, 'nested', 'run.log');
    const console = consoleCapture();
    const log = new RunLogger({ file, consoleLevel: 'warn', console: console.stream });
    const versions = collectVersions();
    log.start({ backend: 'reference', devices: [0, 1] }, versions);
    log.progress({ total: 10, done: 5, passed: 3, wrong: 1, failed: 1, retries: 2 }, { recordsPerSecond: 1.23456, etaSeconds: 4.1 });
    log.retry({ task_id: 11, sample_index: 0 }, 2, 'TransientError: 503 from endpoint', 500);
    log.failure({ task_id: 12, sample_index: 1 }, 3, new Error('backend unavailable'));
    log.checkpoint(5, 'run/checkpoint.json');
    log.autosave(5, 'run/partial.parquet');
    log.resourceWarning({ kind: 'gpu-memory', gpuIndex: 2, usedBytes: 40, limitBytes: 30, message: 'GPU 2 memory 38.1 GiB is above --max-gpu-memory 30.0 GiB' });
    log.logger.debug('a debug line for the file only');
    log.statistics({ records: 10 });
    log.close();
    log.close();

    const entries = await readLog(file);
    assert.deepEqual(
      entries.map((e) => e['event'] ?? e['msg']),
      ['start', 'progress', 'retry', 'failure', 'checkpoint', 'autosave', 'resource_warning', 'a debug line for the file only', 'statistics'],
    );
    const [start, progress, retry, failure] = entries;
    assert.deepEqual(start!['config'], { backend: 'reference', devices: [0, 1] });
    assert.equal((start!['versions'] as { node: string }).node, process.versions.node);
    assert.equal(progress!['records_per_second'], 1.235);
    assert.equal(progress!['eta_seconds'], 4);
    assert.equal(retry!['reason'], 'TransientError: 503 from endpoint');
    assert.equal(retry!['delay_ms'], 500);
    assert.equal((failure!['err'] as { message: string }).message, 'backend unavailable');
    assert.match((failure!['err'] as { stack: string }).stack, /backend unavailable/);
    assert.equal(typeof entries[8]!['time'], 'number');

    assert.equal(console.lines.length, 3, console.lines.join('\n'));
    assert.match(console.lines[0]!, /^\d\d:\d\d:\d\d WARN  retry of task 11:0 \(attempt 2\) task_id=11 sample_index=0 attempt=2 reason="TransientError: 503 from endpoint" delay_ms=500$/);
    assert.match(console.lines[1]!, /^\d\d:\d\d:\d\d ERROR task 12:1 failed after 3 attempts .*err="Error: backend unavailable"$/);
    assert.match(console.lines[2]!, /WARN  GPU 2 memory 38\.1 GiB is above --max-gpu-memory 30\.0 GiB kind=gpu-memory gpu_index=2/);
  });

  it('appends to an existing log and never truncates it', async () => {
    const file = path.join(tmp, 'kept.log');
    await writeFile(file, '{"msg":"an earlier run"}\n');
    const log = new RunLogger({ file, console: consoleCapture().stream });
    log.checkpoint(1);
    log.close();
    const entries = await readLog(file);
    assert.deepEqual(entries.map((e) => e['msg']), ['an earlier run', 'checkpoint at 1 records']);
  });

  it('rejects an unknown --log-level naming the flag', () => {
    assert.equal(parseLogLevel('WARN'), 'warn');
    assert.throws(() => parseLogLevel('loud'), (error: unknown) => error instanceof InputError && /^--log-level: unknown level "loud"/.test(error.message));
  });

  it('finds installed package versions', () => {
    assert.match(installedVersion('rxjs') ?? '', /^\d+\.\d+\.\d+/);
    assert.equal(installedVersion('no-such-package-mbpp'), undefined);
    assert.match(collectVersions().mbppStream, /^\d+\.\d+\.\d+/);
  });
});
