/**
 * A page opened in a real headless Chromium, driven over the DevTools protocol on a pipe (fds 3 and 4:
 * no port, no extra dependency), to check that the HTML reports render: what the console said, facts read
 * from the laid-out page, and a full-page screenshot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** `$CHROME_PATH`, else the first Chromium or Chrome on PATH; null where there is none. */
export function findBrowser(): string | null {
  const candidates = process.env.CHROME_PATH
    ? [process.env.CHROME_PATH]
    : ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'].flatMap((name) =>
        (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, name)),
      );
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }) ?? null;
}

export interface RenderedPage {
  /** Console errors, uncaught exceptions and browser log errors (bad SVG attributes, failed loads), as text. */
  errors: string[];
  /** What `probe` returned, evaluated in the loaded page. */
  facts: unknown;
  /** A full-page PNG. */
  screenshot: Buffer;
}

interface CdpMessage {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

const CALL_TIMEOUT_MS = 30_000;

/** Opens `htmlFile`, waits for it to load, evaluates `probe` (a JS expression) in it, and screenshots it. */
export async function renderInBrowser(browser: string, htmlFile: string, probe: string): Promise<RenderedPage> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'mbpp-chromium-'));
  const child = spawn(
    browser,
    ['--headless', '--no-sandbox', '--disable-gpu', '--remote-debugging-pipe', `--user-data-dir=${profile}`,
      '--no-first-run', '--no-default-browser-check', '--hide-scrollbars', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const cdp = new CdpPipe(child, () => stderr);
  try {
    const { targetId } = await cdp.call('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await cdp.call('Target.attachToTarget', { targetId, flatten: true });
    const session = sessionId as string;
    const errors: string[] = [];
    cdp.onEvent((message) => {
      if (message.sessionId !== session) return;
      const params = message.params ?? {};
      if (message.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(params.type as string)) {
        errors.push(`console.${params.type}: ${JSON.stringify(params.args)}`);
      } else if (message.method === 'Runtime.exceptionThrown') {
        const details = params.exceptionDetails as { text: string; exception?: { description?: string } };
        errors.push(`exception: ${details.exception?.description ?? details.text}`);
      } else if (message.method === 'Log.entryAdded') {
        const entry = params.entry as { level: string; text: string; url?: string };
        if (entry.level === 'error') errors.push(`log: ${entry.text}${entry.url ? ` (${entry.url})` : ''}`);
      }
    });
    await Promise.all(['Runtime.enable', 'Log.enable', 'Page.enable'].map((method) => cdp.call(method, {}, session)));
    // A laptop screen's width rather than headless' 800 px default.
    await cdp.call('Emulation.setDeviceMetricsOverride', { width: 1200, height: 800, deviceScaleFactor: 1, mobile: false }, session);
    const loaded = cdp.waitForEvent('Page.loadEventFired', session);
    await cdp.call('Page.navigate', { url: pathToFileURL(htmlFile).href }, session);
    await loaded;
    const evaluated = await cdp.call('Runtime.evaluate', { expression: probe, returnByValue: true }, session);
    if (evaluated.exceptionDetails) throw new Error(`probe failed: ${JSON.stringify(evaluated.exceptionDetails)}`);
    const { cssContentSize } = (await cdp.call('Page.getLayoutMetrics', {}, session)) as { cssContentSize: { width: number; height: number } };
    const shot = await cdp.call(
      'Page.captureScreenshot',
      { format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width: cssContentSize.width, height: cssContentSize.height, scale: 1 } },
      session,
    );
    return { errors, facts: (evaluated.result as { value: unknown }).value, screenshot: Buffer.from(shot.data as string, 'base64') };
  } finally {
    await cdp.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** DevTools protocol messages over Chromium's pipe: NUL-terminated JSON, commands on fd 3, replies on fd 4. */
class CdpPipe {
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, { resolve(result: Record<string, unknown>): void; reject(error: Error): void }>();
  private readonly listeners: ((message: CdpMessage) => void)[] = [];
  private exited = false;

  constructor(
    private readonly child: ChildProcess,
    private readonly stderr: () => string,
  ) {
    (child.stdio[4] as Readable).setEncoding('utf8').on('data', (chunk: string) => this.receive(chunk));
    child.on('exit', (code, signal) => {
      this.exited = true;
      const error = new Error(`chromium exited (${code ?? signal}) before answering: ${this.stderr().slice(-2000)}`);
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    });
  }

  call(method: string, params: Record<string, unknown>, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (result) => (clearTimeout(timer), resolve(result)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
    });
    (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    return reply;
  }

  onEvent(listener: (message: CdpMessage) => void): void {
    this.listeners.push(listener);
  }

  waitForEvent(method: string, sessionId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: not fired in ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
      this.onEvent((message) => {
        if (message.method === method && message.sessionId === sessionId) (clearTimeout(timer), resolve());
      });
    });
  }

  /** Asks the browser to close, and kills it if it has not within a few seconds. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.call('Browser.close', {}).catch(() => {});
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private receive(text: string): void {
    this.buffer += text;
    let end: number;
    while ((end = this.buffer.indexOf('\0')) >= 0) {
      const message = JSON.parse(this.buffer.slice(0, end)) as CdpMessage;
      this.buffer = this.buffer.slice(end + 1);
      if (message.id !== undefined) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error.message));
        else waiter?.resolve(message.result ?? {});
      } else for (const listener of this.listeners) listener(message);
    }
  }
}
