import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let fullGc: (() => void) | undefined;

/**
 * Runs a full, synchronous garbage collection. Node hides `gc()` unless started with `--expose-gc`; rather than
 * ask every user for that flag, it is switched on at run time and `gc` is taken from a fresh V8 context, where
 * the flag now exposes it.
 */
export function collectGarbage(): void {
  if (fullGc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) {
      fullGc = exposed;
    } else {
      setFlagsFromString('--expose-gc');
      fullGc = runInNewContext('gc') as () => void;
    }
  }
  fullGc();
}
