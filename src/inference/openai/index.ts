// The OpenAI-compatible backend's public face: the factory and its options.
export { createOpenAIBackend, type OpenAIBackendOptions } from './backend.js';
export type { SamplingSettings } from './request-body.js';
export { DEFAULT_API_KEY_ENV } from './api-key.js';
