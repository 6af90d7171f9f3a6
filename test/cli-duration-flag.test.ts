import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDurationFlag } from '../src/cli/duration-flag.js';
import { InputError } from '../src/errors.js';

describe('duration flags (--max-outage)', () => {
  it('reads seconds, minutes and hours; a bare number is seconds', () => {
    assert.deepEqual(
      ['90', '90s', '15m', '1.5h', '0', ' 5S '].map((value) => parseDurationFlag('--max-outage', value)),
      [90, 90, 900, 5400, 0, 5],
    );
  });

  it('refuses anything else with one line naming the flag', () => {
    for (const value of ['', 'soon', '-5s', '5 min', '1e3', '5d']) {
      assert.throws(
        () => parseDurationFlag('--max-outage', value),
        (error: unknown) => error instanceof InputError && /^--max-outage must be a duration such as 90, 90s, 15m or 1h, got /.test(error.message),
        value,
      );
    }
  });
});
