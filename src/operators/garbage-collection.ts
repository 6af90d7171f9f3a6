import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type: 'minor' }) => void;

let gc: Gc | undefined;

/**
 * Runs a synchronous garbage collection: a full one (every object, so its time grows with all that is live), or
 * with `young` only the young generation, where short-lived garbage lives, in time that does not grow with the rest
 * of the heap. Node hides `gc()` unless started with `--expose-gc`; rather than ask every user for that flag, it is
 * switched on at run time and `gc` is taken from a fresh V8 context, where the flag now exposes it.
 */
export function collectGarbage({ young = false }: { young?: boolean } = {}): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: Gc }).gc;
    if (exposed !== undefined) {
      gc = exposed;
    } else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    }
  }
  if (young) gc({ type: 'minor' });
  else gc();
}
