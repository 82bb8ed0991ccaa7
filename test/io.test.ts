// Saved models, run folders and atomic writes: models survive a save/load round trip bit for bit, a stock tfjs
// loader reads our folders, damaged files are refused with the file named, and failed writes leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayersModel } from '@tensorflow/tfjs-layers';

import { useBackend } from '../src/backend/index.js';
import {
  ensureDirectory,
  FileWriteError,
  writeFileAtomic,
  writeFileAtomicSync,
  writeFilesAtomic,
  writeJsonAtomic,
} from '../src/io/atomic.js';
import { loadModel, ModelFileError, readModelMetadata, saveModel } from '../src/io/model-files.js';
import { RunFolder, RunFolderError } from '../src/io/run-folder.js';
import { denoisedSetWriter, removeDenoisedSets, savedDenoisedSets } from '../src/study/denoised-sets.js';
import { buildAutoencoder } from '../src/model/autoencoder.js';

async function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dae-io-test-'));
}

/** The id of the user and group `nobody` on Linux and macOS alike (65534 on Linux; macOS's -2 as unsigned). */
const nobody = process.platform === 'darwin' ? 4294967294 : 65534;

/**
 * Runs `body` with permission checks as an ordinary user's: as root, with the effective user and group of nobody
 * (the real ones stay root's, so they can be taken back); as anyone else, as is.
 */
async function asOrdinaryUser<T>(body: () => Promise<T>): Promise<T> {
  if (process.geteuid?.() !== 0) return body();
  process.setegid!(nobody);
  process.seteuid!(nobody);
  try {
    return await body();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
  }
}

/** A fixed, non-trivial input: a diagonal ramp over two images. [2, 28, 28, 1] */
function fixedImages(): tf.Tensor4D {
  return tf.tidy(() => {
    const ramp = tf.div(tf.reshape(tf.range(0, 28 * 28), [1, 28, 28, 1]), 28 * 28);
    return tf.concat([ramp, tf.sub(1, ramp)]) as tf.Tensor4D;
  });
}

function maxAbsoluteDifference(first: LayersModel, second: LayersModel): number {
  return tf.tidy(() => {
    const images = fixedImages();
    const a = first.predict(images) as tf.Tensor;
    const b = second.predict(images) as tf.Tensor;
    assert.deepEqual(a.shape, b.shape);
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] ?? Number.NaN;
  });
}

/** Saves the reference encoder and autoencoder into a fresh directory. */
async function savedReference(): Promise<{
  root: string;
  encoderDirectory: string;
  autoencoderDirectory: string;
  models: ReturnType<typeof buildAutoencoder>;
}> {
  await useBackend('native');
  const root = await temporaryDirectory();
  const models = buildAutoencoder();
  const encoderDirectory = join(root, 'encoder');
  const autoencoderDirectory = join(root, 'autoencoder');
  await saveModel(models.encoder, encoderDirectory, { role: 'encoder', epochs: 3 });
  await saveModel(models.autoencoder, autoencoderDirectory, {
    role: 'autoencoder',
    noise: { kind: 'gaussian', level: 0.5 },
  });
  return { root, encoderDirectory, autoencoderDirectory, models };
}

/** model.json text with its first weights group changed by `edit`. */
function editedManifest(
  modelJsonText: string,
  edit: (group: { paths: string[]; weights: { dtype: string }[] }) => void,
): string {
  const modelJson = JSON.parse(modelJsonText) as {
    weightsManifest: { paths: string[]; weights: { dtype: string }[] }[];
  };
  const [group] = modelJson.weightsManifest;
  assert.ok(group);
  edit(group);
  return JSON.stringify(modelJson);
}

async function assertModelFileError(promise: Promise<unknown>, file: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ModelFileError, `expected ModelFileError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.ok(error.message.startsWith(`${file}: `), error.message);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), 'one-line message');
    return true;
  });
}

test('models survive a save/load round trip exactly, with their metadata', async () => {
  const { root, encoderDirectory, autoencoderDirectory, models } = await savedReference();
  try {
    assert.deepEqual((await readdir(encoderDirectory)).sort(), ['model.json', 'weights.bin']);
    const modelJson = JSON.parse(await readFile(join(encoderDirectory, 'model.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(modelJson['format'], 'layers-model');
    assert.deepEqual(
      (modelJson['weightsManifest'] as { paths: string[] }[]).map((group) => group.paths),
      [['weights.bin']],
    );
    assert.equal((await readFile(join(encoderDirectory, 'weights.bin'))).byteLength, 4 * 119_200);

    const tensorsBefore = tf.memory().numTensors;
    const encoder = await loadModel(encoderDirectory);
    const autoencoder = await loadModel(autoencoderDirectory);
    assert.equal(encoder.countParams(), models.encoder.countParams());
    assert.equal(autoencoder.countParams(), models.autoencoder.countParams());
    assert.equal(autoencoder.countParams(), 119_200 + 159_169);
    assert.equal(maxAbsoluteDifference(models.encoder, encoder), 0);
    assert.equal(maxAbsoluteDifference(models.autoencoder, autoencoder), 0);

    assert.deepEqual(await readModelMetadata(encoderDirectory), { formatVersion: 1, role: 'encoder', epochs: 3 });
    assert.deepEqual(await readModelMetadata(autoencoderDirectory), {
      formatVersion: 1,
      role: 'autoencoder',
      noise: { kind: 'gaussian', level: 0.5 },
    });

    // Only the loaded models' weights are new tensors.
    const loadedWeights = encoder.weights.length + autoencoder.weights.length;
    assert.equal(tf.memory().numTensors - tensorsBefore, loadedWeights);
    encoder.dispose();
    autoencoder.dispose();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a stock tfjs loader reads the saved folder over http', async () => {
  const { root, autoencoderDirectory, models } = await savedReference();
  const server = createServer((request, response) => {
    const name = (request.url ?? '').replace(/^\//, '');
    if (name !== 'model.json' && name !== 'weights.bin') {
      response.writeHead(404).end();
      return;
    }
    readFile(join(autoencoderDirectory, name)).then(
      (bytes) => {
        response
          .writeHead(200, { 'content-type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream' })
          .end(bytes);
      },
      () => response.writeHead(500).end(),
    );
  });
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // tfjs-core's Node platform fetches with the global fetch of Node ≥ 18, so the plain URL works.
    const loaded = await tfl.loadLayersModel(`http://127.0.0.1:${port}/model.json`);
    assert.equal(loaded.countParams(), models.autoencoder.countParams());
    assert.equal(maxAbsoluteDifference(models.autoencoder, loaded), 0);
    loaded.dispose();
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(root, { recursive: true, force: true });
  }
});

test('damaged model folders are refused with ModelFileError naming the file', async () => {
  const { root, encoderDirectory, autoencoderDirectory } = await savedReference();
  try {
    const weights = join(encoderDirectory, 'weights.bin');
    const modelJson = join(encoderDirectory, 'model.json');
    const originalJson = await readFile(modelJson, 'utf8');

    await truncate(weights, 4 * 119_200 - 2000);
    await assertModelFileError(
      loadModel(encoderDirectory),
      weights,
      /474,800 bytes but model\.json declares 476,800 — the file is truncated or from another model; re-run `dae pretrain`$/,
    );

    // The autoencoder's model.json beside the encoder's weights.
    await saveModel(buildAutoencoder().encoder, encoderDirectory);
    await copyFile(join(autoencoderDirectory, 'model.json'), modelJson);
    await assertModelFileError(
      loadModel(encoderDirectory),
      weights,
      /476,800 bytes but model\.json declares 1,113,476/,
    );

    await writeFile(modelJson, originalJson.slice(0, 200));
    await assertModelFileError(loadModel(encoderDirectory), modelJson, /is not valid JSON/);
    await assertModelFileError(readModelMetadata(encoderDirectory), modelJson, /is not valid JSON/);

    await writeFile(modelJson, originalJson.replace('"formatVersion": 1', '"formatVersion": 99'));
    await assertModelFileError(loadModel(encoderDirectory), modelJson, /format version 99 is not supported/);

    await writeFile(modelJson, originalJson.replace('"format": "layers-model"', '"format": "graph-model"'));
    await assertModelFileError(loadModel(encoderDirectory), modelJson, /expected "layers-model"/);

    await writeFile(
      modelJson,
      editedManifest(originalJson, (group) => {
        const [first] = group.weights;
        if (first) first.dtype = 'int32';
      }),
    );
    await assertModelFileError(loadModel(encoderDirectory), modelJson, /dtype "int32"; only float32/);

    await writeFile(
      modelJson,
      editedManifest(originalJson, (group) => {
        group.paths = ['../autoencoder/weights.bin'];
      }),
    );
    await assertModelFileError(loadModel(encoderDirectory), modelJson, /not a file name inside the model folder/);

    // Whole, but holding a NaN and an infinity: refused naming the layer (the last weight is coding/bias, [32]).
    await writeFile(modelJson, originalJson);
    await saveModel(buildAutoencoder().encoder, encoderDirectory);
    const bytes = await readFile(weights);
    bytes.writeFloatLE(Number.NaN, bytes.byteLength - 4);
    bytes.writeFloatLE(Number.NEGATIVE_INFINITY, bytes.byteLength - 8);
    await writeFile(weights, bytes);
    await assertModelFileError(
      loadModel(encoderDirectory),
      weights,
      /: layer 'coding' holds 1 NaN and 1 infinite among the 32 values of its weight 'coding\/bias' — the training that saved it diverged/,
    );

    await rm(weights);
    await writeFile(modelJson, originalJson);
    await assertModelFileError(loadModel(encoderDirectory), weights, /cannot read \(file not found\)/);

    await assertModelFileError(loadModel(root), join(root, 'model.json'), /cannot read \(file not found\)/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a failed atomic write leaves neither a temp file nor a partial target', async () => {
  const root = await temporaryDirectory();
  try {
    // The parent is a file: nothing can be created at all.
    await writeFile(join(root, 'plain-file'), 'x');
    const underFile = join(root, 'plain-file', 'out.json');
    await assert.rejects(
      writeJsonAtomic(underFile, { a: 1 }),
      (error: unknown) => error instanceof FileWriteError && error.file === underFile && /ENOTDIR/.test(error.message),
    );
    assert.throws(() => writeFileAtomicSync(underFile, 'x'), FileWriteError);

    // The target is a directory: the temp file is written, the rename fails, and the temp must be cleaned up.
    const directoryTarget = join(root, 'taken');
    await mkdir(directoryTarget);
    await assert.rejects(writeFileAtomic(directoryTarget, new Uint8Array(1000)), FileWriteError);
    assert.throws(() => writeFileAtomicSync(directoryTarget, 'x'), FileWriteError);
    assert.deepEqual((await readdir(root)).sort(), ['plain-file', 'taken']);
    assert.deepEqual(await readdir(directoryTarget), []);

    // Successful writes replace the target whole and leave only it.
    const target = join(root, 'value.json');
    await writeJsonAtomic(target, { a: 1 });
    writeFileAtomicSync(target, 'sync\n');
    assert.equal(await readFile(target, 'utf8'), 'sync\n');
    await writeJsonAtomic(target, { b: [1, 2] });
    assert.equal(await readFile(target, 'utf8'), '{\n  "b": [\n    1,\n    2\n  ]\n}\n');
    assert.deepEqual((await readdir(root)).sort(), ['plain-file', 'taken', 'value.json']);

    // Several files as one: the last cannot be written, so none is, and the first keeps its old bytes.
    await assert.rejects(
      writeFilesAtomic([
        { path: target, data: 'new\n' },
        { path: join(root, 'fresh.json'), data: '{}' },
        { path: underFile, data: 'x' },
      ]),
      (error: unknown) => error instanceof FileWriteError && error.file === underFile,
    );
    assert.equal(await readFile(target, 'utf8'), '{\n  "b": [\n    1,\n    2\n  ]\n}\n');
    assert.deepEqual((await readdir(root)).sort(), ['plain-file', 'taken', 'value.json']);
    await writeFilesAtomic([
      { path: target, data: 'new\n' },
      { path: join(root, 'fresh.json'), data: '{}' },
    ]);
    assert.equal(await readFile(target, 'utf8'), 'new\n');
    assert.deepEqual((await readdir(root)).sort(), ['fresh.json', 'plain-file', 'taken', 'value.json']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('the denoised test sets wait in the run folder, are read back only where they fit, and go', async () => {
  const root = await temporaryDirectory();
  try {
    const run = await RunFolder.create(join(root, 'run'), { preset: 'tiny', seed: 7 });
    const noise = [
      { kind: 'gaussian' as const, amount: 0.2 },
      { kind: 'masking' as const, amount: 0.3 },
    ];
    const made = { noise, seed: 7, count: 2, height: 2, width: 3 };
    const sets = [Float32Array.from({ length: 12 }, (_, index) => index / 7), new Float32Array(12).fill(0.5)];
    // Each set is on disk as soon as it is added, so none waits in memory for the others; none is read before the end.
    const writer = await denoisedSetWriter(run, made);
    writer.add(sets[0]!, 0);
    assert.equal(await run.exists('checkpoints/denoised/0.f32'), true);
    assert.equal(await (await savedDenoisedSets(run, made))(0), undefined, 'not before the record is written');
    writer.add(sets[1]!, 1);
    await writer.finish();
    const saved = await savedDenoisedSets(run, made);
    assert.deepEqual(await saved(0), sets[0]);
    assert.deepEqual(await saved(1), sets[1]);
    assert.equal(await saved(2), undefined, 'no third set');
    assert.equal(await (await savedDenoisedSets(run, { ...made, seed: 8 }))(0), undefined, 'made with another seed');
    assert.equal(await (await savedDenoisedSets(run, { ...made, count: 3 }))(0), undefined, 'for other images');
    await truncate(run.path('checkpoints', 'denoised', '1.f32'), 8);
    assert.equal(await (await savedDenoisedSets(run, made))(1), undefined, 'a short file is made anew');
    await removeDenoisedSets(run);
    assert.equal(await run.exists('checkpoints/denoised'), false);
    assert.equal(await (await savedDenoisedSets(run, made))(0), undefined);
    await run.release();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a run folder records stages and its status in run.json', async () => {
  const root = await temporaryDirectory();
  try {
    const directory = join(root, 'runs', 'first');
    const config = { preset: 'tiny', seed: 7 };
    const run = await RunFolder.create(directory, config);
    assert.equal(run.status, 'incomplete');
    assert.equal(run.isStageDone('pretrain'), false);

    await run.markStageDone('pretrain', { finalLoss: 0.012 });
    await Promise.all([run.markStageDone('inspect'), run.markStageDone('classify', { accuracy: 0.9 })]);
    await run.writeJson('metrics/pretrain.json', { loss: [0.1, 0.05] });
    await run.writeFile('figures/filters.svg', '<svg/>');
    assert.equal(await run.exists('figures/filters.svg'), true);
    assert.equal(await run.exists('figures/missing.svg'), false);
    assert.deepEqual(await run.readJson<{ loss: number[] }>('metrics/pretrain.json'), { loss: [0.1, 0.05] });
    assert.equal(run.checkpointPath('epoch-3'), join(directory, 'checkpoints', 'epoch-3'));
    assert.throws(() => run.path('..', 'elsewhere'), RangeError);
    assert.throws(() => run.checkpointPath('a/b'), RangeError);

    await run.markIncomplete('interrupted by SIGINT');
    let reopened = await RunFolder.open(directory);
    assert.equal(reopened.status, 'incomplete');
    assert.equal(reopened.runRecord.reason, 'interrupted by SIGINT');
    assert.deepEqual(reopened.config, config);
    for (const stage of ['pretrain', 'inspect', 'classify']) assert.equal(reopened.isStageDone(stage), true, stage);
    assert.deepEqual(reopened.stageSummary('pretrain'), { finalLoss: 0.012 });

    await reopened.markComplete();
    reopened = await RunFolder.open(directory);
    assert.equal(reopened.status, 'complete');
    assert.equal(reopened.runRecord.reason, undefined);
    assert.equal(typeof reopened.runRecord.finishedAt, 'string');
    assert.equal(reopened.runRecord.formatVersion, 1);
    assert.equal(
      (await readdir(directory)).some((name) => name.endsWith('.tmp')),
      false,
    );

    // A complete run is not overwritten by accident.
    await assert.rejects(
      RunFolder.create(directory, config),
      (error: unknown) => error instanceof RunFolderError && /already holds a complete run/.test(error.message),
    );
    const fresh = await RunFolder.create(directory, { preset: 'tiny', seed: 8 }, { overwrite: true });
    assert.equal(fresh.status, 'incomplete');
    assert.equal(fresh.isStageDone('pretrain'), false);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('run folders refuse what they cannot use', async () => {
  const root = await temporaryDirectory();
  try {
    await assert.rejects(
      RunFolder.open(root),
      (error: unknown) =>
        error instanceof RunFolderError &&
        error.file === root &&
        error.message === `${root}: not a dae run folder (no run.json) — run \`dae experiment --out DIR\` first`,
    );

    await writeFile(
      join(root, 'run.json'),
      '{"formatVersion": 2, "status": "complete", "startedAt": "", "stages": {}}',
    );
    await assert.rejects(
      RunFolder.open(root),
      (error: unknown) =>
        error instanceof RunFolderError && /run format version 2 is not supported/.test(error.message),
    );
    await writeFile(join(root, 'run.json'), '{"formatVersion":');
    await assert.rejects(RunFolder.open(root), RunFolderError);

    await writeFile(join(root, 'plain-file'), 'x');
    const underFile = join(root, 'plain-file', 'run');
    await assert.rejects(
      RunFolder.create(underFile, {}),
      (error: unknown) =>
        error instanceof RunFolderError &&
        error.file === underFile &&
        /choose another --out or fix permissions/.test(error.message),
    );

    // A folder this process may not write to. Permission bits do not bind root, so as root the check runs with the
    // effective user and group of an ordinary one (nobody), which the folder's mode 555 then binds.
    await chmod(root, 0o755);
    const readOnly = join(root, 'read-only');
    await mkdir(readOnly);
    await chmod(readOnly, 0o555);
    await asOrdinaryUser(() =>
      assert.rejects(
        RunFolder.create(readOnly, {}),
        (error: unknown) =>
          error instanceof RunFolderError &&
          error.file === readOnly &&
          /cannot take the run folder's lock \(Error: EACCES.*choose another --out or fix permissions$/.test(
            error.message,
          ),
      ),
    );
    assert.deepEqual(await readdir(readOnly), [], 'nothing written into the read-only folder');
    await chmod(readOnly, 0o755);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a folder that cannot be made is refused, even under one that exists but refuses children (/proc)', async () => {
  // Node's recursive mkdir spins forever there; each level is made in turn instead, and the first refusal is thrown.
  const refusing = join('/proc', `dae-${process.pid}`, 'export');
  await assert.rejects(
    ensureDirectory(refusing),
    (error: unknown) => error instanceof FileWriteError && error.file === refusing,
  );
  const directory = await mkdtemp(join(tmpdir(), 'dae-io-'));
  try {
    await ensureDirectory(join(directory, 'a', 'b', 'c'));
    await ensureDirectory(join(directory, 'a', 'b', 'c'));
    assert.deepEqual(await readdir(join(directory, 'a', 'b')), ['c']);
    await writeFile(join(directory, 'file'), 'x');
    await assert.rejects(ensureDirectory(join(directory, 'file', 'below')), FileWriteError);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
