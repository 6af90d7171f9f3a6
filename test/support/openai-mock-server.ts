/**
 * A local OpenAI-compatible server that answers as vLLM does (its documented /v1/completions and
 * /v1/chat/completions reply shapes, `usage`, `finish_reason`, its error bodies), with faults scripted per
 * request, so the backend's error handling is tested against real sockets rather than mocked functions.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Prompted } from '../../src/records.js';

/** One request the server received. */
export interface MockRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Which TCP connection carried it: 0, 1, 2… in order of opening. */
  connection: number;
}

/** What the server does with the next request instead of answering it properly. */
export type MockFault =
  /** Replies with this status; `body` (JSON, or text when a string) may depend on the request. */
  | {
      kind: 'status';
      status: number;
      body?: string | Record<string, unknown> | ((request: MockRequest) => Record<string, unknown>);
      headers?: Record<string, string>;
    }
  /** Sends the headers and half the body, then destroys the connection. */
  | { kind: 'drop-mid-reply' }
  /** Destroys the connection without a reply. */
  | { kind: 'drop-before-reply' }
  /** A complete 200 reply whose body is cut-off JSON. */
  | { kind: 'malformed-json' }
  /** A complete 200 reply of valid JSON that is not a completion. */
  | { kind: 'wrong-shape' }
  /** Never replies; the request only ends when the client closes the connection. */
  | { kind: 'hang' };

/** What the model "generates" for a prompt (chat: the last user message). */
export interface MockGeneration {
  text: string;
  finishReason?: 'stop' | 'length';
}

export interface MockServerOptions {
  /** The served model name; requests for another get vLLM's 404. Default google/gemma-2-2b. */
  model?: string;
  /** Wait before every proper reply, to make one server slower than another. */
  latencyMs?: number;
  /** When set, requests without `Authorization: Bearer <apiKey>` get vLLM's 401. */
  apiKey?: string;
  generate?: (prompt: string) => MockGeneration;
}

export interface MockServer {
  /** Base URL without /v1, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  readonly requests: MockRequest[];
  /** TCP connections opened so far. */
  readonly connections: number;
  /** Requests whose connection closed before the server finished its reply (a client abort, or a scripted drop). */
  readonly clientCloses: number;
  /** Queues faults for the next requests, one each, in order. */
  enqueue(...faults: MockFault[]): void;
  /** Resolves once `requests` holds `count` requests. */
  waitForRequests(count: number): Promise<void>;
  /** Resolves once `clientCloses` reaches `count`. */
  waitForClientCloses(count: number): Promise<void>;
  /** Goes down as a crashed server does: requests in flight are cut, new connections refused. */
  stop(): Promise<void>;
  /** Comes back on the same port after `stop`. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_MODEL = 'google/gemma-2-2b';

function defaultGeneration(prompt: string): MockGeneration {
  return { text: `def answer():\n    return ${JSON.stringify(prompt.length)}\n`, finishReason: 'stop' };
}

/** Whitespace-separated words stand in for tokens: enough to check the figures travel. */
function tokenCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

export async function startMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const model = options.model ?? DEFAULT_MODEL;
  const generate = options.generate ?? defaultGeneration;
  const faults: MockFault[] = [];
  const requests: MockRequest[] = [];
  const connectionIds = new WeakMap<Socket, number>();
  const requestWaiters: CountWaiter[] = [];
  const closeWaiters: CountWaiter[] = [];
  let connections = 0;
  let clientCloses = 0;

  const sendJson = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain' : 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  };
  const vllmError = (status: number, type: string, message: string) => ({ object: 'error', message, type, param: null, code: status });

  const reply = (request: MockRequest, res: http.ServerResponse): void => {
    const chat = request.path === '/v1/chat/completions';
    if (!chat && request.path !== '/v1/completions') return sendJson(res, 404, { detail: 'Not Found' });
    if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, { error: 'Unauthorized' });
    }
    if (request.body.model !== model) {
      return sendJson(res, 404, vllmError(404, 'NotFoundError', `The model \`${String(request.body.model)}\` does not exist.`));
    }
    const messages = request.body.messages as Array<{ role: string; content: string }> | undefined;
    const prompt = chat ? messages?.at(-1)?.content : request.body.prompt;
    if (typeof prompt !== 'string') return sendJson(res, 400, vllmError(400, 'BadRequestError', 'Missing prompt'));
    const generation = generate(prompt);
    const promptTokens = tokenCount(prompt);
    const completionTokens = tokenCount(generation.text);
    const choice = chat
      ? {
          index: 0,
          message: { role: 'assistant', reasoning_content: null, content: generation.text, tool_calls: [] },
          logprobs: null,
          finish_reason: generation.finishReason ?? 'stop',
          stop_reason: null,
        }
      : { index: 0, text: generation.text, logprobs: null, finish_reason: generation.finishReason ?? 'stop', stop_reason: null, prompt_logprobs: null };
    sendJson(res, 200, {
      id: `${chat ? 'chatcmpl' : 'cmpl'}-${requests.length}`,
      object: chat ? 'chat.completion' : 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [choice],
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens, prompt_tokens_details: null },
    });
  };

  const actOn = (fault: MockFault, request: MockRequest, res: http.ServerResponse): void => {
    switch (fault.kind) {
      case 'status': {
        const body = typeof fault.body === 'function' ? fault.body(request) : fault.body;
        return sendJson(res, fault.status, body ?? vllmError(fault.status, 'Error', `scripted ${fault.status}`), fault.headers);
      }
      case 'drop-mid-reply': {
        const text = JSON.stringify({ id: 'cmpl-x', object: 'text_completion', choices: [{ index: 0, text: 'def f():\n    return 1\n' }] });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.write(text.slice(0, text.length / 2), () => res.socket?.destroy());
        return;
      }
      case 'drop-before-reply':
        res.socket?.destroy();
        return;
      case 'malformed-json':
        return sendJson(res, 200, '{"id": "cmpl-1", "object": "text_completion", "choices": [{"index": 0, "te', { 'content-type': 'application/json' });
      case 'wrong-shape':
        return sendJson(res, 200, { object: 'list', data: [{ id: model, object: 'model' }] });
      case 'hang':
        return;
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: MockRequest = {
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
        connection: connectionIds.get(req.socket) ?? -1,
      };
      requests.push(request);
      release(requestWaiters, requests.length);
      res.on('close', () => {
        if (res.writableFinished) return;
        clientCloses += 1;
        release(closeWaiters, clientCloses);
      });
      const fault = faults.shift();
      if (fault) return actOn(fault, request, res);
      if (options.latencyMs) setTimeout(() => reply(request, res), options.latencyMs);
      else reply(request, res);
    });
  });
  server.on('connection', (socket: Socket) => {
    connectionIds.set(socket, connections);
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // Resolves whether or not the server was listening, so a test may close a server it stopped.
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    get clientCloses() {
      return clientCloses;
    },
    enqueue: (...more) => void faults.push(...more),
    waitForRequests: (count) => waitFor(requestWaiters, requests.length, count),
    waitForClientCloses: (count) => waitFor(closeWaiters, clientCloses, count),
    stop,
    restart: () =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject).listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      }),
    close: stop,
  };
}

type CountWaiter = { count: number; resolve: () => void };

function waitFor(waiters: CountWaiter[], now: number, count: number): Promise<void> {
  return now >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }));
}

/** Resolves the waiters whose count `now` has reached; keeps the others. */
function release(waiters: CountWaiter[], now: number): void {
  for (const waiter of waiters.splice(0)) {
    if (now >= waiter.count) waiter.resolve();
    else waiters.push(waiter);
  }
}

/** A prompt for task `taskId`, as the pipeline hands it to a session. */
export function promptedTask(taskId: number, sampleIndex = 0, prompt = `You are an expert Python programmer. Task ${taskId}.`): Prompted {
  return {
    record: { task_id: taskId, text: `task ${taskId}`, code: '', test_setup_code: '', test_list: [], challenge_test_list: [], split: 'test' },
    sampleIndex,
    prompt,
  };
}

/**
 * Mock servers (and anything else with `close`) opened during one test, closed after it whatever happens:
 * call `closeAll` from `afterEach`.
 */
export function mockServerPool() {
  const opened: Array<{ close(): Promise<void> }> = [];
  return {
    track<T extends { close(): Promise<void> }>(thing: T): T {
      opened.push(thing);
      return thing;
    },
    async server(options?: MockServerOptions): Promise<MockServer> {
      return this.track(await startMockServer(options));
    },
    async closeAll(): Promise<void> {
      for (const thing of opened.splice(0).reverse()) await thing.close();
    },
  };
}
