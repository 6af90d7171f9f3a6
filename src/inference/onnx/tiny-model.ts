import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../errors.js';

/** Said in the output and the run metadata whenever the tiny model stands in for a real one. */
export const TINY_MODEL_NOTICE =
  'using the built-in tiny demo model (random weights): its completions are not code and will fail the tests';

/** The name written into the dataset's `model` column for runs on the tiny model. */
export const TINY_MODEL_NAME = 'mbpp-stream/tiny-llama-demo';

/**
 * The committed tiny decoder (fixtures/tiny-model, shipped in the package), used by `build --test-run` with no
 * model. Found relative to this module, which sits at the same depth in src/ and dist/.
 */
export function tinyModelDir(): string {
  const dir = fileURLToPath(new URL('../../../fixtures/tiny-model', import.meta.url));
  if (!existsSync(dir)) {
    throw new InputError(`the tiny demo model is missing at ${dir}; regenerate it with \`npx tsx scripts/make-tiny-model.ts\``);
  }
  return dir;
}
