import http from 'node:http';
import https from 'node:https';
import type { Completion } from '../../records.js';
import type { GenerateRequest, InferenceSession } from '../backend.js';
import { API_ROUTES, parseReply, type ApiKind } from './completion-reply.js';
import { errorForReply } from './error-reply.js';
import { routeUrl } from './endpoint-url.js';
import { postJson } from './http-exchange.js';
import { buildRequestBody, type SamplingSettings } from './request-body.js';

/** No sane completion reply comes near this; a bigger one is a misbehaving server, not a slow one. */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

export interface OpenAISessionOptions {
  /** Normalised base URL, ending in `/v1`. */
  base: URL;
  api: ApiKind;
  model: string;
  sampling: SamplingSettings;
  concurrency: number;
  /** Sent as a Bearer token; never part of an id, a message or `describe()`. */
  apiKey?: string;
}

/**
 * One OpenAI-compatible endpoint as an inference session. It owns a keep-alive connection pool sized to its
 * concurrency, so the K requests `loadBalance` keeps in flight reuse K warm connections.
 */
export class OpenAISession implements InferenceSession {
  readonly id: string;
  readonly concurrency: number;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;

  constructor(private readonly options: OpenAISessionOptions) {
    this.id = `openai ${options.base.href}`;
    this.concurrency = options.concurrency;
    this.url = routeUrl(options.base, API_ROUTES[options.api]);
    const agentOptions = { keepAlive: true, maxSockets: options.concurrency };
    this.agent = options.base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.headers = options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` };
  }

  async generate({ item, signal }: GenerateRequest): Promise<Completion> {
    const { api, model, sampling } = this.options;
    try {
      const reply = await postJson({
        url: this.url,
        body: JSON.stringify(buildRequestBody(api, model, sampling, item)),
        headers: this.headers,
        agent: this.agent,
        signal,
        maxReplyBytes: MAX_REPLY_BYTES,
      });
      if (reply.status < 200 || reply.status >= 300) throw errorForReply(this.url.href, reply);
      return { ...parseReply(this.url.href, api, reply.body), sessionId: this.id };
    } catch (error) {
      throw this.redacted(error);
    }
  }

  /** Closes the pooled connections; requests still in flight are cut. */
  close(): void {
    this.agent.destroy();
  }

  /** Some servers echo the key in 401 bodies; error messages get logged and journalled, so it is cut out. */
  private redacted(error: unknown): unknown {
    const key = this.options.apiKey;
    if (key && error instanceof Error && error.message.includes(key)) {
      error.message = error.message.split(key).join('[redacted]');
    }
    return error;
  }
}
