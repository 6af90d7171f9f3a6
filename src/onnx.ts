// `mbpp-stream/onnx`: the onnxruntime-node backend (loads the native runtime on import).
export { OnnxBackend, type OnnxBackendOptions } from './inference/onnx/onnx-backend.js';
export { tinyModelDir, TINY_MODEL_NAME } from './inference/onnx/tiny-model.js';
export { resolveModel, defaultModelsCacheDir } from './inference/onnx/model-resolution.js';
