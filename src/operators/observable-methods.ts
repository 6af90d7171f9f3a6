import type { ObservableInput } from 'rxjs';

/**
 * The methods of `S` with each Promise result widened to any `ObservableInput`, whose values are awaited and
 * ignored. Operators take stores and sinks through this type so that a production store (which returns
 * Promises) fits unchanged, while a test double can return a cold Observable on virtual time — Promises
 * settle outside a `TestScheduler` run.
 */
export type ObservableMethods<S> = {
  [K in keyof S]: ObservableMethod<S[K]>;
};

/** Distributes over `undefined`, so an optional method stays optional. */
type ObservableMethod<M> = M extends (...args: infer A) => Promise<unknown> ? (...args: A) => ObservableInput<unknown> : M;
