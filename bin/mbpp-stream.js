#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { warmInterpreter } from '../dist/cli/interpreter-warmup.js';

const argv = process.argv.slice(2);
warmInterpreter(argv); // before the CLI's modules load, which take ~0.1 s
const { main } = await import('../dist/cli/main.js');
process.exitCode = await main(argv);
