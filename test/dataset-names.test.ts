// Other datasets are named as themselves: a dataset in MNIST's layout with a dataset.json carries its name and class
// names into metrics.json, the report, the confusion matrices, the classification reports and the page's data; bad
// dataset.json files are refused in one line naming the file and field; run folders from before the names still load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError, presets, resolveConfig, savedConfig } from '../src/config.js';
import { DatasetError, loadDataset } from '../src/data/dataset.js';
import { DatasetDescriptionError, datasetNames, parseDatasetDescription } from '../src/data/description.js';
import { RunFolderError } from '../src/io/run-folder.js';
import { upgradeMetrics } from '../src/io/metrics.js';
import type { Metrics } from '../src/io/metrics.js';
import { articleFor } from '../src/report/format.js';
import { reportTitle } from '../src/report/html.js';
import { loadRunData } from '../src/serve/run-data.js';
import { toyClassNames, writeToyDataset } from './support/toy-dataset.js';

const cli = fileURLToPath(new URL('../../bin/dae.js', import.meta.url));

function dae(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });
  const lines = result.stderr
    .trim()
    .split('\n')
    .filter((line) => line.length > 0);
  return { status: result.status, stderr: result.stderr, lastLine: lines[lines.length - 1] ?? '' };
}

const classNames = toyClassNames;

test('dataset.json is checked field by field, and names come from the flags, dataset.json, or the folder and label numbers', async () => {
  const file = '/data/toy/dataset.json';
  const refused = (text: string, pattern: RegExp) =>
    assert.throws(
      () => parseDatasetDescription(text, file),
      (error: unknown) =>
        error instanceof DatasetDescriptionError &&
        error.message.startsWith(`${file}: `) &&
        pattern.test(error.message) &&
        !error.message.includes('\n'),
    );
  refused('{"name": "Toy",', /is not valid JSON/);
  refused('["row"]', /must hold a JSON object/);
  refused('{"name": "Toy", "classes": ["a", "b"]}', /unknown field 'classes' \(known: name, classNames\)/);
  refused(
    '{"name": 7}',
    /field 'name' must be a string of 1\.\.100 characters, none of them control characters, got 7/,
  );
  refused('{"name": "  "}', /field 'name'/);
  refused('{"classNames": "row,column"}', /field 'classNames' needs a list of names/);
  refused('{"classNames": ["row"]}', /field 'classNames' needs 2\.\.256 names, got 1/);
  refused('{"classNames": ["row", ""]}', /field 'classNames' name 1 \(for label 1\) must be 1\.\.100 characters/);
  refused('{"classNames": ["row", "row"]}', /field 'classNames' 'row' names two classes \(labels 0 and 1\)/);
  assert.deepEqual(parseDatasetDescription('{"name": "Toy", "classNames": ["a", "b"]}', file), {
    name: 'Toy',
    classNames: ['a', 'b'],
  });
  assert.deepEqual(parseDatasetDescription('{}', file), {});

  const embedded = await datasetNames({});
  assert.deepEqual([embedded.name, embedded.classNames], ['MNIST', null]);
  const directory = await mkdtemp(join(tmpdir(), 'dae-names-'));
  try {
    const folder = join(directory, 'toy-folder');
    await writeToyDataset(folder, 30, 9);
    const plain = await loadDataset({ directory: folder });
    assert.equal(plain.name, 'toy-folder');
    assert.deepEqual(plain.classNames, ['0', '1', '2']);
    await writeFile(
      join(folder, 'dataset.json'),
      JSON.stringify({ name: 'Toy Shapes', classNames: [...classNames, 'circle'] }),
    );
    const described = await loadDataset({ directory: folder });
    assert.equal(described.name, 'Toy Shapes');
    // Four names for labels 0..2: the fourth class has no images, but the classifiers get four outputs.
    assert.deepEqual([described.classNames, described.train.classes], [[...classNames, 'circle'], 4]);
    const flagged = await loadDataset({ directory: folder, name: 'Flagged', classNames: ['r', 'c', 'd'] });
    assert.deepEqual([flagged.name, flagged.classNames, flagged.test.classes], ['Flagged', ['r', 'c', 'd'], 3]);
    await assert.rejects(
      loadDataset({ directory: folder, classNames: ['r', 'c'] }),
      (error: unknown) =>
        error instanceof DatasetError &&
        /training label 2 has no class name: --class-names names 2 classes \(labels 0\.\.1\)/.test(error.message),
    );
    await writeFile(join(folder, 'dataset.json'), JSON.stringify({ classNames: ['row', 'column'] }));
    await assert.rejects(
      loadDataset({ directory: folder }),
      (error: unknown) =>
        error instanceof DatasetError &&
        error.message.includes(`names 2 classes`) &&
        error.message.includes(`${join(folder, 'dataset.json')} field 'classNames'`),
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

test('the config takes the names as flags, and a run folder saved before them loads with the defaults', () => {
  const config = resolveConfig('tiny', { data: { name: 'Toy Shapes', classNames } });
  assert.deepEqual([config.data.name, config.data.classNames], ['Toy Shapes', classNames]);
  assert.deepEqual([presets.full.data.name, presets.full.data.classNames], [null, null]);
  assert.throws(
    () => resolveConfig('tiny', { data: { classNames: ['a', 'a'] } }),
    (error: unknown) => error instanceof ConfigError && /^--class-names: 'a' names two classes/.test(error.message),
  );
  assert.throws(() => resolveConfig('tiny', { data: { name: '' } }), /--dataset-name must be 1\.\.100 characters/);

  const older = structuredClone(presets.tiny) as unknown as { data: Record<string, unknown> };
  delete older.data['name'];
  delete older.data['classNames'];
  const loaded = savedConfig(older, 'runs/old/run.json');
  assert.deepEqual([loaded.data.name, loaded.data.classNames], [null, null]);
  assert.equal('name' in older.data, false, 'the saved record itself is left as it was');
});

test('metrics.json of format version 1 reads with numbered classes; unknown versions are refused', () => {
  const version1 = {
    formatVersion: 1,
    dataset: { name: 'MNIST', train: 9, validation: 1, test: 5, height: 28, width: 28 },
    classifiers: [],
  };
  const upgraded = upgradeMetrics(version1, 'metrics.json');
  assert.equal(upgraded.formatVersion, 3);
  assert.deepEqual(upgraded.dataset.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(upgradeMetrics({ formatVersion: 1, sweep: {} }, 'metrics.json'), { formatVersion: 3, sweep: {} });
  // Version 2 (before mistakes, robustness, the code map and the ablation) reads as a run that measured none of them.
  const version2 = { ...version1, formatVersion: 2, dataset: { ...version1.dataset, classNames: ['a', 'b'] } };
  assert.deepEqual(upgradeMetrics(version2, 'metrics.json'), { ...version2, formatVersion: 3 });
  assert.throws(
    () => upgradeMetrics({ formatVersion: 4 }, 'runs/x/metrics.json'),
    (error: unknown) =>
      error instanceof RunFolderError &&
      /^runs\/x\/metrics\.json: metrics format version 4 is not supported \(this dae reads 1, 2, 3\)/.test(
        error.message,
      ),
  );
});

test('the report title reads right for any dataset name', () => {
  assert.equal(reportTitle('MNIST'), 'Pretraining an MNIST classifier with a deep denoising autoencoder');
  assert.equal(
    reportTitle('Fashion-MNIST'),
    'Pretraining a Fashion-MNIST classifier with a deep denoising autoencoder',
  );
  assert.deepEqual(['KMNIST', 'EMNIST', 'CIFAR-10', 'SVHN', 'Omniglot', 'toy shapes', 'USPS'].map(articleFor), [
    'a',
    'an',
    'a',
    'an',
    'an',
    'a',
    'a',
  ]);
});

test('a run on a dataset with dataset.json names it and its classes in metrics.json, the report, the figures and the page data', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'dae-names-run-'));
  try {
    const data = join(directory, 'toy');
    await writeToyDataset(data, 600, 90);
    await writeFile(join(data, 'dataset.json'), '{"name": "Toy Shapes", "classNames": ["row", "column", "row"]}\n');
    const bad = dae(
      'experiment',
      '--preset',
      'tiny',
      '--backend',
      'native',
      '--data',
      data,
      '--out',
      join(directory, 'refused'),
    );
    assert.equal(bad.status, 1);
    assert.equal(
      bad.lastLine,
      `dae: ${join(data, 'dataset.json')}: field 'classNames' 'row' names two classes (labels 0 and 2) — ` +
        'fix the field, or remove dataset.json to name the dataset after its folder and its classes by number',
    );

    await writeFile(join(data, 'dataset.json'), JSON.stringify({ name: 'Toy Shapes', classNames }));
    const out = join(directory, 'run');
    const run = dae(
      'experiment',
      '--preset',
      'tiny',
      '--backend',
      'native',
      '--epochs',
      '1',
      '--data',
      data,
      '--out',
      out,
    );
    assert.equal(run.status, 0, run.stderr);

    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as Metrics;
    assert.equal(metrics.formatVersion, 3);
    assert.deepEqual([metrics.dataset.name, metrics.dataset.classNames], ['Toy Shapes', classNames]);
    for (const result of metrics.classifiers) assert.equal(result.test.confusion.length, 3);

    const html = await readFile(join(out, 'report.html'), 'utf8');
    const title = 'Pretraining a Toy Shapes classifier with a deep denoising autoencoder';
    assert.ok(html.includes(`<title>${title}</title>`) && html.includes(`<h1>${title}</h1>`), 'title');
    assert.ok(html.includes('learns to restore Toy Shapes images from corrupted copies'), 'introduction');
    assert.ok(html.includes('<dt>Classes</dt><dd>3: row, column, diagonal</dd>'), 'data section');
    for (const name of classNames)
      assert.ok(html.includes(`<th scope="row">${name}</th>`), `per-class rows name ${name}`);
    assert.match(
      html,
      /<pre>\s+precision\s+recall\s+f1-score\s+support\n\n\s+row\s/,
      'classification reports name the classes',
    );
    // Outside the figures' base64, which may spell anything.
    assert.doesNotMatch(
      html.replace(/src="data:[^"]*"/g, ''),
      /MNIST|digit/,
      'no trace of MNIST or digits in the report of another dataset',
    );
    const confusion = await readFile(join(out, 'figures', 'confusion-scratch-400.svg'), 'utf8');
    for (const name of classNames) assert.ok(confusion.includes(`>${name}</text>`), `confusion matrix labels ${name}`);
    assert.match(confusion, /rows: true class|True class/);

    const page = await loadRunData(out);
    assert.deepEqual(
      [page.summary.dataset, page.summary.classNames, page.summary.classes, page.summary.itemName],
      ['Toy Shapes', classNames, 3, 'image'],
    );

    // The same folder as a version before the names wrote it: no names in its config, metrics.json version 1.
    const record = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
      config: { data: Record<string, unknown> };
    };
    delete record.config.data['name'];
    delete record.config.data['classNames'];
    await writeFile(join(out, 'run.json'), JSON.stringify(record));
    const { classNames: dropped, ...olderDataset } = metrics.dataset;
    assert.ok(dropped.length === 3);
    await writeFile(join(out, 'metrics.json'), JSON.stringify({ ...metrics, formatVersion: 1, dataset: olderDataset }));
    assert.deepEqual(
      (await loadRunData(out)).summary.classNames,
      ['0', '1', '2'],
      'an older folder serves with numbered classes',
    );
    const report = dae('report', out);
    assert.equal(report.status, 0, report.stderr);
    const rewritten = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as Metrics;
    assert.deepEqual(
      [rewritten.formatVersion, rewritten.dataset.name, rewritten.dataset.classNames],
      [3, 'Toy Shapes', classNames],
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
