import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DEFAULT_HARDENING_CONFIG,
  loadHardeningConfig,
  mergeHardeningConfig,
  saveHardeningConfig,
  validateHardeningConfig,
} from '../src/config.js';
import { InputError } from '../src/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mbpp-stream-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function configFile(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Asserts an InputError whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

describe('HardeningConfig', () => {
  it("has the original's defaults, plus continue_on_error", () => {
    assert.deepStrictEqual(DEFAULT_HARDENING_CONFIG, {
      checkpoint_frequency: 50,
      autosave_frequency: 100,
      autosave_min_seconds: 30,
      max_retries: 3,
      retry_backoff: 1.0,
      memory_cleanup_frequency: 100,
      gc_collect_frequency: 50,
      progress_log_frequency: 10,
      max_memory_usage_gb: 100,
      max_gpu_memory_usage_gb: 30,
      timeout_per_record: 300,
      max_outage: 900,
      autosave_keep_last: 3,
      continue_on_error: true,
      cpu_limit_floor: 1,
      cpu_limit_factor: 4,
    });
    assert.ok(Object.isFrozen(DEFAULT_HARDENING_CONFIG));
  });

  it('loads a partial file over the defaults', async () => {
    const file = await configFile('partial.json', '{"checkpoint_frequency": 10, "continue_on_error": false}');
    assert.deepStrictEqual(await loadHardeningConfig(file), {
      ...DEFAULT_HARDENING_CONFIG,
      checkpoint_frequency: 10,
      continue_on_error: false,
    });
  });

  it('saves every key and loads back the same config', async () => {
    const file = join(dir, 'saved.json');
    const config = { ...DEFAULT_HARDENING_CONFIG, max_retries: 0, retry_backoff: 0.5, timeout_per_record: 12.5 };
    await saveHardeningConfig(file, config);
    const written = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(written), Object.keys(DEFAULT_HARDENING_CONFIG));
    assert.deepStrictEqual(await loadHardeningConfig(file), config);
  });

  it('lets later layers win: defaults, then the file, then the command line', async () => {
    const file = await configFile('layer.json', '{"checkpoint_frequency": 10, "max_retries": 5}');
    const fromFile = validateHardeningConfig(JSON.parse(await readFile(file, 'utf8')), file);
    const merged = mergeHardeningConfig(
      DEFAULT_HARDENING_CONFIG,
      { origin: file, values: fromFile },
      { origin: 'command line', values: { checkpoint_frequency: 7, gc_collect_frequency: undefined } },
    );
    assert.equal(merged.checkpoint_frequency, 7);
    assert.equal(merged.max_retries, 5);
    assert.equal(merged.gc_collect_frequency, 50);
  });

  it('rejects a zero or negative frequency, naming the file and key', async () => {
    const zero = await configFile('zero.json', '{"gc_collect_frequency": 0}');
    await rejectsWith(loadHardeningConfig(zero), /zero\.json/, /"gc_collect_frequency" must be a positive integer, got 0/);
    const negative = await configFile('negative.json', '{"checkpoint_frequency": -5}');
    await rejectsWith(loadHardeningConfig(negative), /negative\.json: "checkpoint_frequency"/);
  });

  it('rejects a wrong type, naming the file and key', async () => {
    const text = await configFile('text.json', '{"max_retries": "3"}');
    await rejectsWith(loadHardeningConfig(text), /text\.json: "max_retries" must be an integer >= 0, got "3"/);
    const flag = await configFile('flag.json', '{"continue_on_error": 1}');
    await rejectsWith(loadHardeningConfig(flag), /"continue_on_error" must be true or false/);
    const fraction = await configFile('fraction.json', '{"autosave_frequency": 2.5}');
    await rejectsWith(loadHardeningConfig(fraction), /"autosave_frequency"/);
    const floor = await configFile('floor.json', '{"autosave_min_seconds": -1}');
    await rejectsWith(loadHardeningConfig(floor), /floor\.json: "autosave_min_seconds" must be a number >= 0, got -1/);
    const none = await configFile('no-floor.json', '{"autosave_min_seconds": 0}');
    assert.equal((await loadHardeningConfig(none)).autosave_min_seconds, 0, 'no floor: every autosave_frequency records');
  });

  it('rejects an unknown key, naming the file and key', async () => {
    const file = await configFile('typo.json', '{"checkpoint_frequncy": 10}');
    await rejectsWith(loadHardeningConfig(file), /typo\.json: unknown key "checkpoint_frequncy"/);
  });

  it('rejects a file that is missing, not JSON, or not an object', async () => {
    await rejectsWith(loadHardeningConfig(join(dir, 'absent.json')), /absent\.json: cannot read .*ENOENT/);
    await rejectsWith(loadHardeningConfig(await configFile('broken.json', '{"max_retries": 3,')), /broken\.json: not valid JSON/);
    await rejectsWith(loadHardeningConfig(await configFile('list.json', '[1, 2]')), /list\.json: .* must be a JSON object/);
  });

  it('validates command-line overrides with their origin', () => {
    assert.throws(
      () => mergeHardeningConfig(DEFAULT_HARDENING_CONFIG, { origin: 'command line', values: { timeout_per_record: 0 } }),
      (error: unknown) => error instanceof InputError && /^command line: "timeout_per_record" must be a positive number/.test(error.message),
    );
  });
});
