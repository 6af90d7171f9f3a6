// Package entry: the record types, interfaces and building blocks other pipelines compose.
export * from './records.js';
export * from './errors.js';
export * from './inference/backend.js';
export * from './sandbox/executor.js';
export * from './operators/stores.js';
