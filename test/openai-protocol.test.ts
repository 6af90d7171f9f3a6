import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../src/errors.js';
import { TransientError } from '../src/inference/backend.js';
import { resolveApiKey } from '../src/inference/openai/api-key.js';
import { parseReply } from '../src/inference/openai/completion-reply.js';
import { normaliseEndpoint } from '../src/inference/openai/endpoint-url.js';
import { serverMessage } from '../src/inference/openai/error-reply.js';
import { buildRequestBody } from '../src/inference/openai/request-body.js';
import { parseRetryAfter } from '../src/inference/openai/retry-after.js';
import type { Prompted } from '../src/records.js';

describe('normaliseEndpoint', () => {
  it('accepts a base with or without /v1 and trailing slashes', () => {
    assert.equal(normaliseEndpoint('http://h:8000').href, 'http://h:8000/v1');
    assert.equal(normaliseEndpoint('http://h:8000/').href, 'http://h:8000/v1');
    assert.equal(normaliseEndpoint('http://h:8000/v1').href, 'http://h:8000/v1');
    assert.equal(normaliseEndpoint(' http://h:8000/v1// ').href, 'http://h:8000/v1');
    assert.equal(normaliseEndpoint('https://api.example.com/openai/v1/').href, 'https://api.example.com/openai/v1');
    assert.equal(normaliseEndpoint('http://h/proxy').href, 'http://h/proxy/v1');
  });

  it('rejects what is not an http(s) base URL, naming --endpoint', () => {
    for (const bad of ['', 'localhost:8000', 'h:8000/v1', 'ftp://h/v1', 'http://', 'http://h/v1?x=1', 'http://h/v1#x']) {
      assert.throws(() => normaliseEndpoint(bad), (error: unknown) => {
        assert.ok(error instanceof InputError, `${bad}: ${String(error)}`);
        assert.match(error.message, /--endpoint/);
        return true;
      });
    }
  });

  it('refuses credentials in the URL without echoing them', () => {
    assert.throws(() => normaliseEndpoint('http://user:s3cret@h:8000/v1'), (error: unknown) => {
      assert.ok(error instanceof InputError);
      assert.match(error.message, /--api-key-env/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads delay-seconds', () => {
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter('0.5', now), 500);
    assert.equal(parseRetryAfter(['7'], now), 7000);
  });
  it('reads an HTTP date, never negative', () => {
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now), 0);
  });
  it('gives undefined for absent or unreadable values', () => {
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-3', now), undefined);
  });
});

describe('resolveApiKey', () => {
  it('uses OPENAI_API_KEY by default, and nothing when it is unset', () => {
    assert.equal(resolveApiKey(undefined, { OPENAI_API_KEY: 'k1' }), 'k1');
    assert.equal(resolveApiKey(undefined, {}), undefined);
    assert.equal(resolveApiKey(undefined, { OPENAI_API_KEY: '' }), undefined);
  });
  it('reads the named variable, which must be set', () => {
    assert.equal(resolveApiKey('MY_KEY', { MY_KEY: 'k2', OPENAI_API_KEY: 'k1' }), 'k2');
    assert.throws(() => resolveApiKey('MY_KEY', { OPENAI_API_KEY: 'k1' }), /--api-key-env MY_KEY/);
    assert.throws(() => resolveApiKey('not a name', {}), InputError);
  });
  it('refuses a key that cannot go into a header, without showing it', () => {
    for (const [name, env] of [['MY_KEY', { MY_KEY: 'sk-abc\n' }], [undefined, { OPENAI_API_KEY: 'sk abc' }]] as const) {
      assert.throws(() => resolveApiKey(name, env), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /(MY_KEY|OPENAI_API_KEY): the key contains spaces or control characters/);
        assert.doesNotMatch(error.message, /sk/);
        return true;
      });
    }
  });
});

describe('serverMessage', () => {
  it('finds the message in the bodies vLLM, OpenAI, TGI and llama.cpp send', () => {
    assert.equal(serverMessage('{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","code":404}'), 'The model `x` does not exist.');
    assert.equal(serverMessage('{"error":{"message":"Rate limit","type":"rate_limit"}}'), 'Rate limit');
    assert.equal(serverMessage('{"error":"Input validation error","error_type":"validation"}'), 'Input validation error');
    assert.equal(serverMessage('{"detail":"Not Found"}'), 'Not Found');
    assert.equal(serverMessage('<html>\n Bad gateway\n</html>'), '<html> Bad gateway </html>');
    assert.equal(serverMessage(''), '(empty body)');
  });
  it('clips long bodies', () => {
    assert.ok(serverMessage('x'.repeat(5000)).length < 600);
  });
});

describe('parseReply', () => {
  const completion = { choices: [{ index: 0, text: 'code', finish_reason: 'length' }], usage: { prompt_tokens: 12, completion_tokens: 200 } };
  it('reads text, finish reason and usage from either API', () => {
    assert.deepEqual(parseReply('e', 'completions', JSON.stringify(completion)), {
      text: 'code',
      finishReason: 'length',
      promptTokens: 12,
      completionTokens: 200,
    });
    const chat = { choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] };
    assert.deepEqual(parseReply('e', 'chat', JSON.stringify(chat)), { text: 'hi', finishReason: 'stop' });
    const toolOnly = { choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'tool_calls' }] };
    assert.equal(parseReply('e', 'chat', JSON.stringify(toolOnly)).text, '');
  });
  it('treats a body that is not JSON as transient', () => {
    assert.throws(() => parseReply('e', 'completions', '{"choices": [{"te'), TransientError);
  });
  it('treats JSON of the wrong shape as permanent', () => {
    for (const body of ['[]', '{"object":"list","data":[]}', '{"choices":[]}', '{"choices":[{"message":{"content":"x"}}]}']) {
      assert.throws(() => parseReply('e', 'completions', body), (error: unknown) => {
        assert.ok(error instanceof Error && !(error instanceof TransientError), body);
        return true;
      });
    }
    assert.throws(() => parseReply('e', 'chat', '{"choices":[{"text":"x"}]}'), /no message/);
  });
});

describe('buildRequestBody', () => {
  const item = (sampleIndex: number): Prompted => ({
    record: { task_id: 11, text: 't', code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' },
    sampleIndex,
    prompt: 'Write a function.',
  });
  const sampling = { maxTokens: 200, temperature: 0.8, topP: 0.95, seed: 42, stop: ['\nclass'] };

  it('sends the completions fields, with a seed per sample', () => {
    assert.deepEqual(buildRequestBody('completions', 'm', sampling, item(3)), {
      model: 'm',
      prompt: 'Write a function.',
      max_tokens: 200,
      temperature: 0.8,
      top_p: 0.95,
      n: 1,
      seed: 45,
      stop: ['\nclass'],
    });
  });
  it('sends chat messages, and leaves out unset and empty settings', () => {
    const body = buildRequestBody('chat', 'm', { maxTokens: 5, temperature: 0, topP: 1, stop: [] }, item(0));
    assert.deepEqual(body.messages, [{ role: 'user', content: 'Write a function.' }]);
    assert.equal('prompt' in body, false);
    assert.equal('seed' in body, false);
    assert.equal('stop' in body, false);
    assert.equal('top_k' in body, false);
    assert.equal(buildRequestBody('chat', 'm', { ...sampling, topK: 40 }, item(0)).top_k, 40);
  });
});
