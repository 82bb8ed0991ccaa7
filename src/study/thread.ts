// A worker thread of the classifier pool: reads the main thread's data in shared memory and loads the run
// folder's pretrained autoencoders as its jobs name them (once each), on the native backend with one kernel thread,
// then trains each job it is sent (a classifier run of the study or a
// cell of the label sweep or the ablation, written to its file here) and answers with the result.
import { parentPort, workerData } from 'node:worker_threads';

import { releaseFreeMemory, useBackend } from '../backend/index.js';
import { labelSubsets } from '../data/prepare.js';
import { sweepCell } from './cell.js';
import { classifierRun } from './classify.js';
import type { ExperimentContext } from './context.js';
import { loadModel } from '../io/model-files.js';
import { RunFolder } from '../io/run-folder.js';
import type { Autoencoder } from '../model/autoencoder.js';
import { joinAutoencoder } from '../model/autoencoder.js';
import type { SerializedError, WorkerJob, WorkerMessage, WorkerResult, WorkerSetup } from './thread-protocol.js';

const port = parentPort;
if (port === null)
  throw new Error('classifier-worker.js runs as a worker thread of the classifier pool, not on its own');
const setup = workerData as WorkerSetup;
const stopFlag = new Int32Array(setup.stop);
const send = (message: WorkerMessage) => port.postMessage(message);

function serialize(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as Error & Partial<Record<'stage' | 'epoch' | 'batch' | 'loss', unknown>>;
  return {
    name: error.name,
    message: error.message,
    ...(error.stack !== undefined ? { stack: error.stack } : {}),
    ...(typeof fields.stage === 'string' ? { stage: fields.stage } : {}),
    ...(typeof fields.epoch === 'number' ? { epoch: fields.epoch } : {}),
    ...(typeof fields.batch === 'number' ? { batch: fields.batch } : {}),
    ...(typeof fields.loss === 'number' ? { loss: fields.loss } : {}),
  };
}

try {
  const { config } = setup;
  const backend = await useBackend('native', { threads: 1 });
  // The main thread of this process holds the folder's lock; open finds this process named in it and shares it.
  const run = await RunFolder.open(setup.directory);
  const { data } = setup;
  // Autoencoders by folder ('models' for the study's, ablation/<pretraining> for the ablation's), loaded once each.
  const autoencoders = new Map<string, Promise<Autoencoder>>();
  const autoencoderIn = (folder: string) => {
    let loading = autoencoders.get(folder);
    if (!loading) {
      loading = (async () =>
        joinAutoencoder(await loadModel(run.path(folder, 'encoder')), await loadModel(run.path(folder, 'decoder'))))();
      autoencoders.set(folder, loading);
    }
    return loading;
  };
  let subsets: ReturnType<typeof labelSubsets> | undefined;
  const context: ExperimentContext = {
    run,
    config,
    backend,
    reporter: (event) => send({ type: 'event', event }),
    shouldStop: () => Atomics.load(stopFlag, 0) === 1,
  };
  // Jobs come one at a time: the pool sends the next only after this one's answer.
  const train = async (work: WorkerJob): Promise<WorkerResult> => {
    if (work.kind === 'sweep-cell')
      return sweepCell(
        context,
        data,
        await autoencoderIn(work.models),
        work.job,
        work.file,
        setup.robustness?.[work.models],
      );
    subsets ??= labelSubsets(data.train, config.classifier.labelFractions, config.seed);
    return classifierRun(context, data, await autoencoderIn('models'), subsets, work.job);
  };
  port.on('message', (work: WorkerJob) => {
    train(work).then(
      (result) => {
        // What the run freed, given back before the next: the other thread's run may need it meanwhile.
        releaseFreeMemory();
        send({ type: 'result', result });
      },
      (error: unknown) => send({ type: 'error', error: serialize(error) }),
    );
  });
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'error', error: serialize(error) });
}
