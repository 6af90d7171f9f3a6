import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { RecordError, SessionUnavailableError, TransientError, type InferenceBackend, type InferenceSession } from '../src/inference/backend.js';
import { createOpenAIBackend, type OpenAIBackendOptions } from '../src/inference/openai/index.js';
import type { Completion } from '../src/records.js';
import { mockServerPool, promptedTask, startMockServer, type MockServerOptions } from './support/openai-mock-server.js';

const MODEL = 'google/gemma-2-2b';
const SECRET = 'sk-test-0123456789abcdef';

/** Servers and backends opened by a test, closed after it whatever happens. */
const pool = mockServerPool();
afterEach(() => pool.closeAll());
const server = (options?: MockServerOptions) => pool.server(options);

function backend(endpoints: string[], options: Partial<OpenAIBackendOptions> = {}): InferenceBackend {
  const created = createOpenAIBackend({
    endpoints,
    model: MODEL,
    concurrency: 4,
    maxTokens: 64,
    temperature: 0,
    topP: 1,
    stop: [],
    env: {},
    ...options,
  });
  return pool.track(created);
}

function only(b: InferenceBackend): InferenceSession {
  const [session] = b.sessions;
  assert.ok(session);
  return session;
}

function generate(session: InferenceSession, item = promptedTask(11), signal = new AbortController().signal): Promise<Completion> {
  return session.generate({ item, signal });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('openai backend against a vLLM-like server', () => {
  it('generates through /v1/completions with usage, finish reason and the request fields', async () => {
    const mock = await server({ generate: () => ({ text: 'def f():\n    return 1\n', finishReason: 'length' }) });
    const session = only(backend([mock.url], { seed: 7, temperature: 0.5, topP: 0.9, stop: ['\nclass'], maxTokens: 32 }));
    const completion = await generate(session, promptedTask(12, 2));
    assert.deepEqual(completion, {
      text: 'def f():\n    return 1\n',
      finishReason: 'length',
      promptTokens: 8,
      completionTokens: 4,
      sessionId: session.id,
    });
    const [request] = mock.requests;
    assert.equal(request?.path, '/v1/completions');
    assert.deepEqual(request?.body, {
      model: MODEL,
      prompt: promptedTask(12).prompt,
      max_tokens: 32,
      temperature: 0.5,
      top_p: 0.9,
      n: 1,
      seed: 9,
      stop: ['\nclass'],
    });
  });

  it('uses /v1/chat/completions with a user message in chat mode', async () => {
    const mock = await server({ generate: (prompt) => ({ text: `echo: ${prompt}` }) });
    const completion = await generate(only(backend([`${mock.url}/v1/`], { chat: true })));
    assert.equal(completion.text, `echo: ${promptedTask(11).prompt}`);
    assert.equal(completion.finishReason, 'stop');
    assert.equal(mock.requests[0]?.path, '/v1/chat/completions');
    assert.deepEqual(mock.requests[0]?.body.messages, [{ role: 'user', content: promptedTask(11).prompt }]);
  });

  it('keeps connections alive across requests', async () => {
    const mock = await server();
    const session = only(backend([mock.url]));
    for (let i = 0; i < 5; i += 1) await generate(session, promptedTask(11 + i));
    assert.equal(mock.requests.length, 5);
    assert.equal(mock.connections, 1);
  });

  it('opens no more connections than its concurrency', async () => {
    const mock = await server({ latencyMs: 30 });
    const session = only(backend([mock.url], { concurrency: 2 }));
    assert.equal(session.concurrency, 2);
    await Promise.all(Array.from({ length: 6 }, (_, i) => generate(session, promptedTask(11 + i))));
    assert.equal(mock.requests.length, 6);
    assert.equal(mock.connections, 2);
  });

  it('makes 429 transient, with Retry-After in seconds or as a date', async () => {
    const mock = await server();
    const session = only(backend([mock.url]));
    const later = new Date(Date.now() + 60_000).toUTCString();
    mock.enqueue(
      { kind: 'status', status: 429, headers: { 'retry-after': '3' }, body: { error: { message: 'Too many requests' } } },
      { kind: 'status', status: 429, headers: { 'retry-after': later } },
    );
    const first = await rejection(generate(session));
    assert.ok(first instanceof TransientError);
    assert.equal(first.retryAfterMs, 3000);
    assert.match(first.message, /HTTP 429: Too many requests/);
    const second = await rejection(generate(session));
    assert.ok(second instanceof TransientError);
    assert.ok(second.retryAfterMs !== undefined && second.retryAfterMs > 0 && second.retryAfterMs <= 60_000);
    assert.equal((await generate(session)).finishReason, 'stop');
  });

  it('makes 5xx transient, carrying the server message', async () => {
    const mock = await server();
    const session = only(backend([mock.url]));
    mock.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 503, body: 'upstream unavailable' });
    const first = await rejection(generate(session));
    assert.ok(first instanceof TransientError);
    assert.equal(first.retryAfterMs, undefined);
    assert.match(first.message, /HTTP 500: scripted 500/);
    const second = await rejection(generate(session));
    assert.ok(second instanceof TransientError);
    assert.match(second.message, /503: upstream unavailable/);
  });

  it('makes a connection dropped mid-reply or before it transient', async () => {
    const mock = await server();
    mock.enqueue({ kind: 'drop-mid-reply' });
    const error = await rejection(generate(only(backend([mock.url]))));
    assert.ok(error instanceof TransientError, String(error));
    assert.match(error.message, /dropped|request failed/);
    mock.enqueue({ kind: 'drop-before-reply' });
    assert.ok((await rejection(generate(only(backend([mock.url]))))) instanceof TransientError);
  });

  it('retries once on a fresh connection when a reused idle connection is reset before a reply', async () => {
    const mock = await server();
    const session = only(backend([mock.url]));
    await generate(session);
    mock.enqueue({ kind: 'drop-before-reply' });
    assert.equal((await generate(session)).finishReason, 'stop');
    assert.equal(mock.requests.length, 3);
    assert.equal(mock.connections, 2);
  });

  it('makes a refused connection a SessionUnavailableError: transient, and it never reached the server', async () => {
    const mock = await startMockServer();
    await mock.close();
    const error = await rejection(generate(only(backend([mock.url]))));
    assert.ok(error instanceof SessionUnavailableError && error instanceof TransientError, String(error));
    assert.match(error.message, /cannot connect: connect ECONNREFUSED/);
  });

  it('makes malformed JSON transient and a reply of the wrong shape permanent', async () => {
    const mock = await server();
    const session = only(backend([mock.url]));
    mock.enqueue({ kind: 'malformed-json' }, { kind: 'wrong-shape' });
    assert.ok((await rejection(generate(session))) instanceof TransientError);
    const wrong = await rejection(generate(session));
    assert.ok(wrong instanceof Error && !(wrong instanceof TransientError));
    assert.match(wrong.message, /has no choices/);
  });

  it('fails a wrong model name or a bad request at once with the server message', async () => {
    const mock = await server();
    const wrongModel = await rejection(generate(only(backend([mock.url], { model: 'gemma-typo' }))));
    assert.ok(wrongModel instanceof Error && !(wrongModel instanceof TransientError));
    assert.match(wrongModel.message, /HTTP 404: The model `gemma-typo` does not exist\./);
    mock.enqueue({
      kind: 'status',
      status: 400,
      body: { object: 'error', message: "This model's maximum context length is 8192 tokens.", type: 'BadRequestError', code: 400 },
    });
    const tooLong = await rejection(generate(only(backend([mock.url]))));
    assert.ok(tooLong instanceof RecordError, 'a refused prompt fails its record, not the session');
    assert.ok(!(wrongModel instanceof RecordError), 'a wrong model name is the session failing');
    assert.match(tooLong.message, /HTTP 400: This model's maximum context length/);
  });

  it('really aborts: the server sees the connection close and the caller gets the reason', async () => {
    const mock = await server();
    const session = only(backend([mock.url]));
    mock.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = generate(session, promptedTask(11), controller.signal);
    while (mock.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    const reason = new Error('record timed out');
    controller.abort(reason);
    assert.equal(await rejection(pending), reason);
    await mock.waitForClientCloses(1);
    assert.equal(mock.clientCloses, 1);
    assert.equal((await generate(session)).finishReason, 'stop');
  });

  it('cuts a slow reply with a timeout signal', async () => {
    const mock = await server();
    mock.enqueue({ kind: 'hang' });
    const error = await rejection(generate(only(backend([mock.url])), promptedTask(11), AbortSignal.timeout(50)));
    assert.ok(error instanceof DOMException && error.name === 'TimeoutError', String(error));
    await mock.waitForClientCloses(1);
  });

  it('sends nothing for an already aborted signal', async () => {
    const mock = await server();
    const controller = new AbortController();
    controller.abort();
    await rejection(generate(only(backend([mock.url])), promptedTask(11), controller.signal));
    assert.equal(mock.requests.length, 0);
  });
});

describe('openai backend API keys', () => {
  it('sends the key from the named variable as a Bearer token', async () => {
    const mock = await server({ apiKey: SECRET });
    const session = only(backend([mock.url], { apiKeyEnv: 'MY_KEY', env: { MY_KEY: SECRET } }));
    assert.equal((await generate(session)).finishReason, 'stop');
    assert.equal(mock.requests[0]?.headers.authorization, `Bearer ${SECRET}`);
  });

  it('uses OPENAI_API_KEY by default and sends no header without one', async () => {
    const mock = await server();
    await generate(only(backend([mock.url], { env: { OPENAI_API_KEY: SECRET } })));
    await generate(only(backend([mock.url], { env: {} })));
    assert.equal(mock.requests[0]?.headers.authorization, `Bearer ${SECRET}`);
    assert.equal(mock.requests[1]?.headers.authorization, undefined);
  });

  it('fails a missing key at once with the 401 message', async () => {
    const mock = await server({ apiKey: SECRET });
    const error = await rejection(generate(only(backend([mock.url]))));
    assert.ok(error instanceof Error && !(error instanceof TransientError));
    assert.match(error.message, /HTTP 401: Unauthorized/);
  });

  it('keeps the key out of describe(), session ids and error messages', async () => {
    const mock = await server({ apiKey: 'another-key' });
    const b = backend([mock.url], { env: { OPENAI_API_KEY: SECRET } });
    assert.doesNotMatch(JSON.stringify(b.describe()), new RegExp(SECRET));
    assert.doesNotMatch(only(b).id, new RegExp(SECRET));
    mock.enqueue({ kind: 'status', status: 401, body: (request) => ({ error: { message: `Incorrect API key: ${String(request.headers.authorization)}` } }) });
    const error = await rejection(generate(only(b)));
    assert.ok(error instanceof Error);
    assert.match(error.message, /Incorrect API key: Bearer \[redacted\]/);
    assert.doesNotMatch(error.message, new RegExp(SECRET));
  });
});

describe('createOpenAIBackend', () => {
  it('makes one session per endpoint and describes its settings', () => {
    const b = backend(['http://a:8000', 'http://b:8000/v1/'], { concurrency: 16, seed: 1, chat: true });
    assert.equal(b.name, 'openai');
    assert.equal(b.model, MODEL);
    assert.deepEqual(b.sessions.map((s) => [s.id, s.concurrency]), [
      ['openai http://a:8000/v1', 16],
      ['openai http://b:8000/v1', 16],
    ]);
    assert.deepEqual(b.describe(), {
      backend: 'openai',
      model: MODEL,
      api: 'chat',
      endpoints: ['http://a:8000/v1', 'http://b:8000/v1'],
      maxTokens: 64,
      temperature: 0,
      topP: 1,
      topK: null,
      seed: 1,
      stop: [],
    });
  });

  it('throws InputErrors naming the flag for bad settings', () => {
    const cases: Array<[Partial<OpenAIBackendOptions>, RegExp]> = [
      [{ endpoints: [] }, /--endpoint is required/],
      [{ endpoints: ['localhost:8000'] }, /--endpoint "localhost:8000"/],
      [{ endpoints: ['http://a:8000', 'http://a:8000/v1'] }, /--endpoint http:\/\/a:8000\/v1 is given twice/],
      [{ model: ' ' }, /--model/],
      [{ concurrency: 0 }, /--concurrency/],
      [{ apiKeyEnv: 'UNSET_KEY_VAR' }, /--api-key-env UNSET_KEY_VAR/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => createOpenAIBackend({ endpoints: ['http://a:8000'], model: MODEL, concurrency: 1, maxTokens: 8, temperature: 0, topP: 1, stop: [], env: {}, ...options }),
        (error: unknown) => error instanceof InputError && message.test(error.message),
      );
    }
  });
});
