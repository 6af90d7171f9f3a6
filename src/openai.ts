// `mbpp-stream/openai`: the OpenAI-compatible HTTP backend (vLLM, TGI, llama.cpp, hosted endpoints).
export * from './inference/openai/index.js';
