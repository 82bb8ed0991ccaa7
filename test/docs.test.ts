// The docs' numbers come from results/: every generated table, sentence and figure in README.md and docs/ equals what
// results/ gives (npm run results -- --check), the regions parse strictly, and the collectors read what a run leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { collectBench, collectStudy } from '../scripts/results/collect.js';
import type { BenchFile, ResultsData, StudyFile } from '../scripts/results/data.js';
import { generate, regions } from '../scripts/results/generate.js';
import { markdownTable } from '../scripts/results/markdown.js';
import { fillRegions } from '../scripts/results/regions.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test("README.md's and docs/'s tables, sentences and figures are what results/ gives", async () => {
  const { differences } = await generate(root, { check: true });
  assert.deepEqual(differences, [], 'run `npm run results` and commit what it changes');
});

test('regions: blocks and inline regions are filled; unknown, unclosed and stray markers are refused', () => {
  const render = (name: string) => {
    if (name === 'table') return '| a |\n| --- |\n| 1 |';
    if (name === 'word') return 'two';
    throw new Error('no such region');
  };
  const text = 'One <!-- results:word -->old<!-- /results --> three.\n<!-- results:table -->\nold\n<!-- /results -->\n';
  const filled = fillRegions(text, 'doc.md', render);
  assert.equal(
    filled.text,
    'One <!-- results:word -->two<!-- /results --> three.\n<!-- results:table -->\n| a |\n| --- |\n| 1 |\n<!-- /results -->\n',
  );
  assert.deepEqual(
    filled.regions.map((region) => [region.name, region.line, region.changed]),
    [
      ['word', 1, true],
      ['table', 2, true],
    ],
  );
  assert.equal(fillRegions(filled.text, 'doc.md', render).regions.filter((region) => region.changed).length, 0);
  assert.throws(
    () => fillRegions('<!-- results:nope -->x<!-- /results -->', 'doc.md', render),
    /doc\.md:1: region nope/,
  );
  assert.throws(() => fillRegions('x <!-- results:table -->y<!-- /results -->', 'doc.md', render), /inline/);
  assert.throws(
    () => fillRegions('<!-- results:word -->\n<!-- results:word -->x<!-- /results -->', 'doc.md', render),
    /not closed/,
  );
  assert.throws(() => fillRegions('a\n<!-- results:word --> b', 'doc.md', render), /doc\.md:2: .* has no partner/);
  // Markers written as code are prose about markers.
  const prose = 'Write `<!-- results:NAME -->` and `<!-- /results -->`.';
  assert.equal(fillRegions(prose, 'doc.md', render).text, prose);
});

test('markdownTable right-aligns numbers, bolds strong cells and escapes pipes', () => {
  const table = markdownTable(
    [
      { header: 'name', cell: (row: { name: string; value: number }) => row.name },
      { header: 'value', numeric: true, cell: (row) => String(row.value), strong: (row) => row.value > 1 },
    ],
    [
      { name: 'a|b', value: 1 },
      { name: 'c', value: 2 },
    ],
  );
  assert.equal(table, '| name | value |\n| --- | ---: |\n| a\\|b | 1 |\n| c | **2** |');
});

test('collect: a study folder gives its study and code map files, its stages timed from run.json', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'dae-collect-'));
  try {
    const json = (name: string, value: unknown) => writeFile(join(folder, name), JSON.stringify(value));
    const config = { preset: 'tiny', seed: 4, autoencoder: {}, classifier: {} };
    const stages = {
      pretrain: { finishedAt: '2026-01-01T00:00:10.000Z' },
      denoise: { finishedAt: '2026-01-01T00:00:12.500Z' },
      evaluate: { finishedAt: '2026-01-01T00:00:20.000Z' },
    };
    await json('run.json', { status: 'incomplete', startedAt: '2026-01-01T00:00:00.000Z', config, stages: {} });
    await json('metrics.json', { formatVersion: 3 });
    await assert.rejects(collectStudy(root, folder), /has not finished/);
    await json('run.json', { status: 'complete', startedAt: '2026-01-01T00:00:00.000Z', config, stages });
    const scores = { mse: 0.01, psnr: 20, ssim: 0.9 };
    await json('metrics.json', {
      formatVersion: 3,
      dataset: { name: 'MNIST', classNames: ['0', '1'], train: 10, validation: 2, test: 4, height: 28, width: 28 },
      backend: { name: 'native', detail: 'avx2 kernels, x86-64-v3 build, prebuilt', threads: 2, classifierWorkers: 2 },
      autoencoder: {
        encoderParams: 1,
        decoderParams: 2,
        epochs: 1,
        trainSeconds: 3,
        history: [],
        noise: { kind: 'salt-and-pepper', amount: 0.2 },
        test: { noisy: scores, denoised: scores, clean: scores },
        noiseLevels: [],
      },
      classifiers: [
        {
          encoder: 'scratch',
          labelFraction: 1,
          labels: 10,
          epochs: 2,
          trainSeconds: 1,
          history: [{ epoch: 1 }],
          validation: { accuracy: 0.5 },
          test: { accuracy: 0.75, macroF1: 0.7, weightedF1: 0.7, perClass: [], confusion: [[1]] },
        },
      ],
      totalSeconds: 21,
    });
    await json('memory.json', { peakRssMiB: 512, perEpoch: [] });
    await json('time-estimates.json', { command: 'study', totalSeconds: 20, checks: [] });
    await json('codemap.json', {
      method: 'UMAP (umap-js)',
      seed: 4,
      nNeighbors: 15,
      minDist: 0.1,
      nEpochs: 300,
      testIndices: [0, 1],
      labels: [1, 0],
      codes: [[0], [1]],
      positions: [
        [1.23456, -2],
        [0, 3.5],
      ],
    });
    const { files } = await collectStudy(root, folder);
    const [study, map] = files as [StudyFile, ResultsData['codeMaps'][number]];
    assert.equal(study.kind, 'study');
    assert.equal(study.seed, 4);
    assert.equal(study.provenance.build.kernels, 'native backend (avx2 kernels, x86-64-v3 build, prebuilt), 2 threads');
    assert.equal(study.provenance.measuredAt, stages.evaluate.finishedAt);
    assert.deepEqual(study.stages, [
      { stage: 'pretrain', seconds: 10 },
      { stage: 'denoise', seconds: 2.5 },
      { stage: 'evaluate', seconds: 7.5 },
    ]);
    assert.deepEqual(study.classifiers, [
      {
        encoder: 'scratch',
        labelFraction: 1,
        labels: 10,
        epochs: 2,
        trainSeconds: 1,
        validationAccuracy: 0.5,
        test: { accuracy: 0.75, macroF1: 0.7 },
      },
    ]);
    assert.equal(study.peakRssMiB, 512);
    assert.deepEqual(
      [map.x, map.y, map.labels],
      [
        [1.235, 0],
        [-2, 3.5],
        [1, 0],
      ],
    );
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("collect: the bench's JSON line becomes results/bench.json, and its tables render", async () => {
  const folder = await mkdtemp(join(tmpdir(), 'dae-collect-bench-'));
  try {
    const model = { imagesPerSecond: [100, 120, 110], peerMemoryFormat: ['nchw', 'nhwc', 'nchw'] };
    const line = {
      backend: 'native',
      detail: 'avx2 kernels, x86-64-v3 build, prebuilt',
      threads: 2,
      batch: 128,
      seconds: 10,
      rounds: 3,
      autoencoder: { ...model, peerImagesPerSecond: [50, 60, 55], medianRatio: 2 },
      classifier: {
        ...model,
        peerImagesPerSecond: [100, 100, 100],
        medianRatio: 1.1,
        sideBySideImagesPerSecond: 130,
        runs: 2,
      },
      peer: { name: 'PyTorch 2.13', blas: 'MKL' },
      kernels: [{ name: 'Conv2D encoder conv1 28x28x1 -> 14x14x32', megaflops: 4.2, nativeGflops: 50, wasmGflops: 9 }],
      wasmImagesPerSecond: 30.5,
      cpuImagesPerSecond: null,
    };
    await mkdir(folder, { recursive: true });
    const output = join(folder, 'bench.txt');
    await writeFile(output, `Training speed, batch 128 ...\nround 1 ...\n${JSON.stringify(line)}\n`);
    const { files } = await collectBench(root, output);
    const bench = files[0] as BenchFile;
    assert.equal(bench.kind, 'bench');
    assert.deepEqual(bench.bench, line);
    const data: ResultsData = { studies: [], codeMaps: [], bench, files: new Map([['bench.json', bench]]) };
    const table = regions['bench-table']!(data);
    // A bench run from before the peak and the Keras peer: its PyTorch rounds, no GFLOP/s, the Keras peer unmeasured.
    assert.match(table, /\| autoencoder \| ours \| 100 \/ 120 \/ 110 \| 110 \| {2}\|/);
    assert.match(
      table,
      /\| autoencoder \| PyTorch 2\.13 \| 50 \(nchw\) \/ 60 \(nhwc\) \/ 55 \(nchw\) \| 55 \| \*\*2\.00\*\* \|/,
    );
    assert.doesNotMatch(table, /GFLOP\/s/);
    assert.match(table, /the keras peer was not measured/);
    assert.match(regions['bench-peak']!(data), /Not measured/);
    assert.match(
      regions['bench-kernels']!(data),
      /\| `Conv2D` \| encoder conv1 28x28x1 -> 14x14x32 \| 4\.2 \| 50\.0 \| 9\.0 \|/,
    );
    assert.match(
      regions['bench-others']!(data),
      /2 runs side by side on one thread each, together \| 130 \(1\.18×\) \|/,
    );
    await writeFile(output, 'no json here\n');
    await assert.rejects(collectBench(root, output), /no JSON line of the bench/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test('the bench tables show the peak, each step as GFLOP/s and share of it, and the stronger of two peers', () => {
  const peer = (name: string, rates: number[], ratio: number, fasterWay: string) => ({
    name,
    imagesPerSecond: rates,
    fasterWay: rates.map(() => fasterWay),
    medianImagesPerSecond: rates[1]!,
    gflops: (rates[1]! * 40) / 1000,
    shareOfPeak: (rates[1]! * 40) / 1000 / 200,
    medianRatio: ratio,
  });
  const model = {
    imagesPerSecond: [2000, 2200, 2100],
    peerImagesPerSecond: [1000, 1100, 1050],
    peerMemoryFormat: ['channels_last', 'channels_last', 'contiguous'],
    medianRatio: 2,
    megaflopsPerImage: 40,
    gflops: 84,
    shareOfPeak: 0.42,
    peers: {
      torch: peer('pytorch-2.13.0+cpu', [1000, 1050, 1100], 2, 'channels_last'),
      keras: peer('keras-3.15.1-tensorflow', [1400, 1500, 1600], 1.4, 'XLA off'),
    },
    stronger: { peer: 'keras', medianRatio: 1.4 },
  };
  const bench: BenchFile = {
    formatVersion: 1,
    kind: 'bench',
    provenance: {} as BenchFile['provenance'],
    bench: {
      backend: 'native',
      detail: 'avx512 kernels, x86-64-v4 build, from source',
      threads: 2,
      batch: 128,
      seconds: 10,
      rounds: 3,
      peak: { gflops: 200, threads: 2, oneThreadGflops: 101.5, target: 'avx512', lanes: 16 },
      autoencoder: model,
      classifier: { ...model, sideBySideImagesPerSecond: 2500, runs: 2 },
      peer: { name: 'pytorch-2.13.0+cpu', blas: 'mkl' },
      peers: {
        torch: { name: 'pytorch-2.13.0+cpu', blas: 'mkl' },
        keras: { name: 'keras-3.15.1-tensorflow', blas: null },
      },
      kernels: [
        { name: 'Conv2D encoder conv1', megaflops: 14.5, nativeGflops: 50, nativeShareOfPeak: 0.25, wasmGflops: 9 },
      ],
      wasmImagesPerSecond: 300,
      cpuImagesPerSecond: null,
    },
  };
  const data: ResultsData = { studies: [], codeMaps: [], bench, files: new Map([['bench.json', bench]]) };
  assert.match(
    regions['bench-peak']!(data),
    /\*\*Peak: 200\.0 GFLOP\/s\*\* on 2 threads \(101\.5 GFLOP\/s on one\), AVX-512 build, 16 lanes/,
  );
  const table = regions['bench-table']!(data);
  assert.match(table, /\| autoencoder \| ours \| 2,000 \/ 2,200 \/ 2,100 \| 2,100 \| 84\.0 \| 42% \| {2}\|/);
  assert.match(table, /\| autoencoder \| pytorch-2\.13\.0\+cpu \| .* \| 1,050 \| 42\.0 \| 21% \| 2\.00 \|/);
  assert.match(
    table,
    /\| autoencoder \| keras-3\.15\.1-tensorflow, the stronger peer \| 1,400 \(XLA off\) .* \| 1,500 \| 60\.0 \| 30% \| \*\*1\.40\*\* \|/,
  );
  assert.match(regions['bench-kernels']!(data), /\| `Conv2D` \| encoder conv1 \| 14\.5 \| 50\.0 \| 25% \| 9\.0 \|/);
});
