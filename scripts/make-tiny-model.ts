/**
 * Regenerates the tiny demo/test decoder: `npx tsx scripts/make-tiny-model.ts [DIR]` (default fixtures/tiny-model).
 * The output is byte-for-byte reproducible, so the committed fixture can be checked against it.
 */
import { fileURLToPath } from 'node:url';
import { writeTinyModel } from './tiny-model/write-tiny-model.js';

const target = process.argv[2] ?? fileURLToPath(new URL('../fixtures/tiny-model', import.meta.url));
await writeTinyModel(target);
console.log(`wrote tiny model to ${target}`);
