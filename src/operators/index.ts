// The hardening operators: generic RxJS building blocks for custom pipelines. They know no files or models.
export * from './abortable.js';
export * from './autosave-every.js';
export * from './checkpoint-every.js';
export * from './circuit-breaker.js';
export * from './garbage-collection.js';
export * from './gc-every.js';
export * from './load-balance.js';
export * from './memory-cleanup-every.js';
export * from './observable-methods.js';
export * from './operator-logger.js';
export * from './progress-every.js';
export * from './retry-policy.js';
export * from './retry-with-backoff.js';
export * from './stores.js';
export * from './tap-every.js';
export * from './timeout-per-record.js';
