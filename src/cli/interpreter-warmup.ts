import { resolvePython } from '../sandbox/python.js';

/** Commands that judge code, and so resolve the interpreter first thing. */
const JUDGING_COMMANDS: ReadonlySet<string> = new Set(['build', 'evaluate', 'retry-failed', 'preflight']);

/**
 * Starts resolving the interpreter a judging command will ask for, from a first look at its arguments, before the
 * CLI's modules load: with a pyenv shim that is ~80 ms of shell scripts (more beside the module loading) taken off
 * the way to the first program. The answer is kept under the key the command's own request, from its parsed flags,
 * looks up; where this look reads the arguments otherwise than the parser (`--` or flags before the command), the
 * command resolves its own and this one goes unused. Its failure is the command's to report, when it asks.
 */
export function warmInterpreter(argv: readonly string[]): void {
  if (!JUDGING_COMMANDS.has(argv[0] ?? '')) return;
  let python: string | undefined;
  for (const [index, arg] of argv.entries()) {
    if (arg === '--') break;
    if (arg === '--python') python = argv[index + 1];
    else if (arg.startsWith('--python=')) python = arg.slice('--python='.length);
  }
  resolvePython(python).catch(() => undefined);
}
