/**
 * The autosave thread: writes each autosave the main thread asks for, reading the rows from the journal itself, so
 * neither the Parquet encoding nor the file writes ever hold up the records being dispatched.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorCode } from '../atomic-file.js';
import { AutosaveSeries, type AutosaveSeriesOptions } from './autosave-series.js';
import type { AutosaveReply, AutosaveRequest } from './autosave-protocol.js';

const port = parentPort!;
const opening = AutosaveSeries.open(workerData as AutosaveSeriesOptions);

/** Requests are answered one at a time, in order (the writer sends one at a time anyway). */
let answering: Promise<void> = Promise.resolve();
port.on('message', (request: AutosaveRequest) => {
  answering = answering.then(async () => port.postMessage(await answer(request)));
});

async function answer(request: AutosaveRequest): Promise<AutosaveReply> {
  try {
    const saved = await (await opening).save(request.end);
    return { kind: 'saved', seq: request.seq, saved };
  } catch (error) {
    const { message, stack } = error instanceof Error ? error : new Error(String(error));
    return { kind: 'failed', seq: request.seq, error: { message, stack, code: errorCode(error) } };
  }
}
