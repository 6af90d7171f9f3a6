// Package entry: the record types, interfaces and building blocks other pipelines compose.
// Backends with heavy dependencies have their own entries: `mbpp-stream/onnx` and `mbpp-stream/openai`.
export * from './records.js';
export * from './errors.js';
export * from './config.js';
export * from './inference/backend.js';
export { createReferenceBackend } from './inference/reference-backend.js';
export { createReplayBackend } from './inference/replay-backend.js';
export * from './sandbox/executor.js';
export { createExecutor, type ExecutorOptions, type SandboxExecutor } from './sandbox/sandbox-executor.js';
export * from './operators/index.js';
export * from './metrics/pass-at-k.js';
export * from './io/mbpp-source.js';
export * from './io/mbppplus-source.js';
export * from './io/dataset-format.js';
export * from './io/dataset-location.js';
export * from './io/generations-source.js';
export * from './io/output-layout.js';
export * from './io/atomic-file.js';
export * from './io/result-table.js';
export * from './io/parquet-file.js';
export * from './io/dataset-writer.js';
export * from './io/autosave-writer.js';
export { openRun, RunStore, type OpenRunOptions, type RunOpening, type RunCounts } from './io/run-store/run-store.js';
export type { RunIdentity } from './io/run-store/run-identity.js';
export * from './prompt/prompt-template.js';
export * from './prompt/code-extraction.js';
export * from './streams/build-pipeline.js';
export * from './streams/result-rows.js';
