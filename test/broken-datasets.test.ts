// A dataset the study cannot use is refused before anything is made or written: for every kind of broken dataset in
// the table below, every command that makes a run folder (`dae experiment`, `dae pretrain`) answers with one line
// naming the dataset's folder or file, a non-zero exit code and no --out folder; every command that works in an
// existing run folder whose config names the dataset (`--resume`, inspect, classify, report, sweep, ablate) the same,
// with the folder left as it was. So are `--class-names` that do not fit the labels, and a job queue that cannot be
// used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { presets } from '../src/config.js';
import { freeLoopbackPort } from '../src/queue/embedded.js';
import { prepareStudyData } from '../src/study/data.js';
import { assertRefused, runDaeCases, shown } from './support/dae-cases.js';
import { encodeIdx, writeToyDataset } from './support/toy-dataset.js';

const trainImages = 'train-images-idx3-ubyte';
const trainLabels = 'train-labels-idx1-ubyte';
const testImages = 't10k-images-idx3-ubyte';
const testLabels = 't10k-labels-idx1-ubyte';
const idxFiles = [trainImages, trainLabels, testImages, testLabels];

/** The good dataset every broken one starts from: three classes, 600 training and 90 test images of 28x28. */
const train = 600;
const testCount = 90;

/** How each dataset is broken, given a copy of the good one in `folder`. */
const brokenDatasets: { kind: string; breakIt: (folder: string) => Promise<void> }[] = [
  { kind: 'missing folder', breakIt: (folder) => rm(folder, { recursive: true }) },
  { kind: 'empty folder', breakIt: (folder) => emptied(folder) },
  {
    kind: 'a file instead of a folder',
    breakIt: async (folder) => {
      await rm(folder, { recursive: true });
      await writeFile(folder, 'not a folder');
    },
  },
  { kind: 'one file missing', breakIt: (folder) => rm(join(folder, testLabels)) },
  {
    kind: 'gzip files only',
    breakIt: async (folder) => {
      for (const name of idxFiles) {
        await writeFile(join(folder, `${name}.gz`), gzipSync(await readFile(join(folder, name))));
        await rm(join(folder, name));
      }
    },
  },
  {
    kind: 'a gzip file under the plain name',
    breakIt: async (folder) =>
      writeFile(join(folder, trainImages), gzipSync(await readFile(join(folder, trainImages)))),
  },
  { kind: 'wrong magic number', breakIt: (folder) => patched(folder, trainLabels, (bytes) => bytes.set([0x12, 0x34])) },
  { kind: 'empty IDX file', breakIt: (folder) => writeFile(join(folder, trainLabels), new Uint8Array(0)) },
  { kind: 'header cut short', breakIt: (folder) => cut(folder, trainImages, (length) => Math.min(length, 6)) },
  { kind: 'data cut short', breakIt: (folder) => cut(folder, trainImages, (length) => length - 100) },
  {
    kind: 'trailing bytes',
    breakIt: async (folder) => {
      const bytes = await readFile(join(folder, testImages));
      await writeFile(join(folder, testImages), Buffer.concat([bytes, Buffer.from([1, 2, 3])]));
    },
  },
  { kind: 'float32 data', breakIt: (folder) => patched(folder, testImages, (bytes) => bytes.set([0x0d], 2)) },
  { kind: 'unknown data type', breakIt: (folder) => patched(folder, testImages, (bytes) => bytes.set([0x42], 2)) },
  {
    kind: 'no dimensions',
    breakIt: (folder) => writeFile(join(folder, trainLabels), Uint8Array.from([0, 0, 8, 0])),
  },
  { kind: 'five dimensions', breakIt: (folder) => idx(folder, trainImages, [1, 1, 1, 1, 1], 1) },
  {
    kind: 'images and labels swapped',
    breakIt: async (folder) => {
      const images = await readFile(join(folder, trainImages));
      await writeFile(join(folder, trainImages), await readFile(join(folder, trainLabels)));
      await writeFile(join(folder, trainLabels), images);
    },
  },
  { kind: 'fewer labels than images', breakIt: (folder) => idx(folder, trainLabels, [train - 1], train - 1) },
  {
    kind: 'a huge declared dimension',
    breakIt: (folder) =>
      patched(folder, trainImages, (bytes) => new DataView(bytes.buffer).setUint32(4, 0xffffffff, false)),
  },
  {
    kind: 'huge images',
    breakIt: async (folder) => {
      await idx(folder, trainImages, [train, 1024, 4], train * 4096);
      await idx(folder, testImages, [testCount, 1024, 4], testCount * 4096);
    },
  },
  { kind: 'image sides not multiples of 4', breakIt: (folder) => remade(folder, train, testCount, 30) },
  { kind: 'images too small to score', breakIt: (folder) => remade(folder, train, testCount, 4) },
  {
    kind: 'no images',
    breakIt: async (folder) => {
      await idx(folder, trainImages, [0, 28, 28], 0);
      await idx(folder, trainLabels, [0], 0);
    },
  },
  {
    kind: 'test images of another size',
    breakIt: async (folder) => {
      await idx(folder, testImages, [testCount, 32, 32], testCount * 32 * 32);
    },
  },
  {
    kind: 'a test label outside the classes',
    breakIt: (folder) => patched(folder, testLabels, (bytes) => bytes.set([7], 8)),
  },
  { kind: 'too few images for the validation split', breakIt: (folder) => remade(folder, 150, testCount) },
  { kind: 'dataset.json that is not JSON', breakIt: (folder) => description(folder, '{"name": "Toy",') },
  {
    kind: 'dataset.json of binary bytes',
    // JSON.parse's message quotes the start of the text: here control characters, line breaks and an invalid byte.
    breakIt: (folder) => description(folder, Buffer.from('{"name": \u0001\u0002\n\n\u001b[31mred\n\u00ff}', 'latin1')),
  },
  { kind: 'dataset.json not an object', breakIt: (folder) => description(folder, '["Toy"]') },
  { kind: 'dataset.json with an unknown field', breakIt: (folder) => description(folder, '{"title": "Toy"}') },
  { kind: 'dataset.json with an empty name', breakIt: (folder) => description(folder, '{"name": " "}') },
  {
    kind: 'dataset.json with a name holding a line break',
    breakIt: (folder) => description(folder, '{"name": "Toy\\nShapes"}'),
  },
  {
    kind: 'dataset.json naming too few classes',
    breakIt: (folder) => description(folder, '{"classNames": ["row", "column"]}'),
  },
  {
    kind: 'dataset.json naming a class twice',
    breakIt: (folder) => description(folder, '{"classNames": ["row", "row", "diagonal"]}'),
  },
  { kind: 'dataset.json that is a folder', breakIt: (folder) => mkdir(join(folder, 'dataset.json')) },
  {
    kind: 'an IDX file that is a folder',
    breakIt: async (folder) => {
      await rm(join(folder, trainLabels));
      await mkdir(join(folder, trainLabels));
    },
  },
  {
    kind: 'an IDX file that is a device',
    breakIt: async (folder) => {
      await rm(join(folder, testImages));
      await symlink('/dev/zero', join(folder, testImages));
    },
  },
  {
    kind: 'an IDX file that links to itself',
    breakIt: async (folder) => {
      await rm(join(folder, testImages));
      await symlink(testImages, join(folder, testImages));
    },
  },
];

async function emptied(folder: string): Promise<void> {
  await rm(folder, { recursive: true });
  await mkdir(folder);
}

/** `name` rewritten with `change` applied to its bytes. */
async function patched(folder: string, name: string, change: (bytes: Uint8Array) => void): Promise<void> {
  const bytes = new Uint8Array(await readFile(join(folder, name)));
  change(bytes);
  await writeFile(join(folder, name), bytes);
}

async function cut(folder: string, name: string, length: (bytes: number) => number): Promise<void> {
  const bytes = await readFile(join(folder, name));
  await writeFile(join(folder, name), bytes.subarray(0, length(bytes.length)));
}

/** `name` replaced by an IDX file of `dims` holding `bytes` bytes (whatever the dims say). */
const idx = (folder: string, name: string, dims: number[], bytes: number) =>
  writeFile(join(folder, name), encodeIdx(dims, new Uint8Array(bytes)));

async function remade(folder: string, trainCount: number, tests: number, side?: number): Promise<void> {
  await emptied(folder);
  await writeToyDataset(folder, trainCount, tests, side);
}

const description = (folder: string, text: string | Uint8Array) => writeFile(join(folder, 'dataset.json'), text);

/** A run folder that `dae pretrain` would have started: no stage done yet, its config naming `dataset`. */
async function runFolderOn(directory: string, dataset: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  const config = { ...presets.tiny, data: { ...presets.tiny.data, directory: dataset } };
  const record = { formatVersion: 1, status: 'incomplete', startedAt: new Date(0).toISOString(), config, stages: {} };
  await writeFile(join(directory, 'run.json'), JSON.stringify(record));
}

/** Every file under `folder` with its contents, to see that nothing was written. */
async function contents(folder: string): Promise<Map<string, string>> {
  const files = await readdir(folder, { recursive: true, withFileTypes: true });
  const entries = await Promise.all(
    files
      .filter((file) => file.isFile())
      .map(async (file) => {
        const path = join(file.parentPath, file.name);
        return [path, await readFile(path, 'utf8')] as const;
      }),
  );
  return new Map(entries);
}

test('every command refuses every kind of broken dataset in one line, before making or writing anything', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-broken-datasets-'));
  try {
    const good = join(directory, 'good');
    await writeToyDataset(good, train, testCount);
    // The good dataset passes, so that each broken one is refused for what was broken in it.
    const prepared = await prepareStudyData({ ...presets.tiny, data: { ...presets.tiny.data, directory: good } });
    assert.equal(prepared.train.count + prepared.validation.count, train);

    const cwd = join(directory, 'work');
    await mkdir(cwd);
    const cases: { kind: string; dataset: string; args: string[] }[] = [];
    for (const [index, { kind, breakIt }] of brokenDatasets.entries()) {
      const dataset = join(directory, 'datasets', `${index}`);
      await cp(good, dataset, { recursive: true });
      await breakIt(dataset);
      for (const command of ['experiment', 'pretrain'])
        cases.push({ kind, dataset, args: [command, '--preset', 'tiny', '--data', dataset, '--out', 'run'] });
      const runFolder = join(cwd, `run-${index}`);
      await runFolderOn(runFolder, dataset);
      for (const args of [['experiment', '--resume'], ['inspect'], ['classify'], ['report'], ['sweep'], ['ablate']])
        cases.push({ kind, dataset, args: [...args, runFolder] });
    }
    const before = await contents(cwd);
    const answers = await runDaeCases(
      cases.map(({ args }) => args),
      { cwd },
    );
    for (const [index, answer] of answers.entries()) {
      const { kind, dataset } = cases[index]!;
      assertRefused(answer, 1);
      assert.ok(answer.stderr.includes(dataset), `${kind}: the line names no file of ${dataset}:\n${shown(answer)}`);
    }
    assert.deepEqual(await contents(cwd), before, 'a refused command wrote into a run folder');
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('--class-names that do not fit the labels, and a job queue that cannot be used, leave no run folder', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-broken-input-'));
  try {
    const good = join(directory, 'good');
    await writeToyDataset(good, train, testCount);
    const cwd = join(directory, 'work');
    await mkdir(cwd);
    const closed = `postgres://dae:secret@127.0.0.1:${await freeLoopbackPort()}/dae`;
    const answers = await runDaeCases(
      [
        ['experiment', '--preset', 'tiny', '--data', good, '--class-names', 'row,column', '--out', 'run'],
        ['pretrain', '--preset', 'tiny', '--class-names', 'zero,one', '--out', 'run'],
        ['sweep', '--preset', 'tiny', '--queue', closed, '--out', 'run'],
        ['ablate', '--preset', 'tiny', '--queue', closed, '--out', 'run'],
      ],
      { cwd },
    );
    for (const answer of answers) assertRefused(answer, 1);
    assert.match(answers[0]!.stderr, /training label 2 has no class name: --class-names names 2 classes/);
    for (const answer of answers.slice(2)) {
      assert.match(answer.stderr, /the job queue at postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/dae cannot be used/);
      assert.doesNotMatch(answer.stderr, /secret/);
    }
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
