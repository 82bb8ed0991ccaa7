// The run's report as one self-contained HTML page: inline CSS, figures as data URIs, no external requests.
// Every piece of text from the input is escaped; figures are <img> elements, so an SVG cannot run script.

import type { AugmentationSpec } from '../data/augment.js';
import { isIdentity } from '../data/augment.js';
import type { ExperimentConfig } from '../config.js';
import type { Metrics } from '../io/metrics.js';
import { buildConclusion } from './conclusion.js';
import { articleFor, escapeHtml, formatFixed, formatInteger, formatSeconds, itemNoun } from './format.js';
import { describeNoise } from '../data/noise.js';
import { referenceHeadUnits } from '../model/classifier.js';
import { ablationIntroduction, ablationTables } from './ablation.js';
import { robustnessTable, sweepRobustnessTable } from './robustness.js';
import { publishedTable, unlabelledSentence } from './unlabelled.js';
import {
  classDetails,
  comparisonTable,
  noiseLevelTable,
  perClassF1Table,
  reconstructionTable,
  sweepTable,
} from './tables.js';
import type { ReportFigure, ReportInput, ReportSection } from './types.js';

export { buildConclusion } from './conclusion.js';

/** "Pretraining an MNIST classifier with a deep denoising autoencoder", with the run's dataset. */
export function reportTitle(datasetName: string): string {
  return `Pretraining ${articleFor(datasetName)} ${datasetName} classifier with a deep denoising autoencoder`;
}
export const REPORT_QUESTION =
  'How does a classifier pretrained with a denoising autoencoder and trained on 10% of the labels compare with the same classifier trained on all of them?';

const STYLE = `
:root { color-scheme: light; --text: #1f2328; --muted: #59636e; --rule: #d1d9e0; --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--text); background: #fff; line-height: 1.6; font-size: 16px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 920px; margin: 0 auto; padding: 32px 24px 64px; }
h1 { font-size: 1.9rem; line-height: 1.25; margin: 0 0 8px; }
h2 { font-size: 1.4rem; margin: 2.2em 0 0.6em; padding-bottom: 0.25em; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.1rem; margin: 1.6em 0 0.5em; }
p { margin: 0.6em 0; }
.lede { color: var(--muted); margin: 0 0 16px; }
nav { font-size: 0.92rem; margin: 12px 0 0; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; white-space: nowrap; }
.question { border-left: 4px solid var(--accent); background: #f0f6ff; padding: 10px 14px; margin: 16px 0; font-style: italic; }
.banner { background: #fff1e5; border: 1px solid #f0a35e; border-left: 6px solid #d9480f; padding: 12px 16px;
  margin: 16px 0 8px; border-radius: 4px; color: #5c2a06; }
.banner strong { display: block; font-size: 1.1rem; }
.table-wrap { overflow-x: auto; margin: 12px 0 20px; }
table { border-collapse: collapse; font-size: 0.92rem; min-width: 50%; }
caption { caption-side: top; text-align: left; color: var(--muted); font-size: 0.88rem; padding-bottom: 4px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid var(--text); font-weight: 600; vertical-align: bottom; }
tbody th { font-weight: 500; white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody tr:hover { background: var(--soft); }
pre { background: var(--soft); border: 1px solid var(--rule); border-radius: 6px; padding: 12px 14px; overflow-x: auto;
  font-size: 0.8rem; line-height: 1.45; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); }
figure { margin: 20px 0 28px; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figure img.pixels { image-rendering: pixelated; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 12px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
.conclusion { font-size: 1.05rem; }
footer { color: var(--muted); font-size: 0.85rem; margin-top: 48px; border-top: 1px solid var(--rule); padding-top: 12px; }
@media (max-width: 640px) {
  main { padding: 20px 14px 48px; }
  h1 { font-size: 1.5rem; }
  body { font-size: 15px; }
  th, td { padding: 4px 8px; }
  dl.facts { grid-template-columns: 1fr; gap: 0; }
  dl.facts dd { margin-bottom: 6px; }
}
`;

/** Renders the whole report. The result is one string with no references outside itself. */
export function renderReport(input: ReportInput): string {
  const { metrics } = input;
  const numbering = new Map(input.figures.map((figure, index) => [figure, index + 1]));
  const figuresIn = (section: ReportSection | undefined): string =>
    input.figures
      .filter((figure) => figure.section === section)
      .map((figure) => renderFigure(figure, numbering.get(figure) ?? 0))
      .join('\n');

  const sections: [string, string, string][] = [
    ['introduction', 'Introduction', introduction(metrics)],
    ['setup', 'Setup', setup(input)],
    ['data', 'Data', data(metrics) + figuresIn('data')],
    ['model', 'Model', model(input) + figuresIn('model')],
    [
      'training',
      'Training',
      training(metrics) + autoencoderRecipe(input.config) + classifierRecipe(input.config) + figuresIn('training'),
    ],
    ['results', 'Results', results(input, figuresIn)],
    ['conclusion', 'Conclusion', conclusion(input)],
  ];
  const nav = sections.map(([id, title]) => `<a href="#${id}">${title}</a>`).join('\n');
  const body = sections
    .map(([id, title, html]) => `<section id="${id}">\n<h2>${title}</h2>\n${html}\n</section>`)
    .join('\n');
  const banner =
    input.status === 'incomplete'
      ? '<div class="banner" role="alert"><strong>This run did not finish.</strong> The report shows what was measured ' +
        'before it stopped: stages that did not run are missing, and the conclusion is provisional.</div>'
      : '';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(reportTitle(metrics.dataset.name))}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(reportTitle(metrics.dataset.name))}</h1>
<p class="lede">${escapeHtml(metrics.dataset.name)} · ${escapeHtml(metrics.backend.name)} backend · ${escapeHtml(formatSeconds(metrics.totalSeconds))} in total</p>
${banner}
<nav aria-label="Sections">${nav}</nav>
</header>
${body}
<footer>Generated by dae-pretrain from metrics.json (format version ${escapeHtml(String(metrics.formatVersion))}).</footer>
</main>
</body>
</html>
`;
}

function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph.length > 0)
    .map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`)
    .join('\n');
}

function facts(entries: readonly [string, string][]): string {
  return `<dl class="facts">${entries.map(([term, value]) => `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>`;
}

function renderFigure(figure: ReportFigure, number: number): string {
  const bytes = typeof figure.data === 'string' ? Buffer.from(figure.data, 'utf8') : figure.data;
  const id = figure.id.toLowerCase().replace(/[^a-z0-9-]/g, '');
  const pixelClass = figure.mime === 'image/png' ? ' class="pixels"' : '';
  return [
    `<figure id="figure-${id}">`,
    `<img${pixelClass} src="data:${figure.mime};base64,${bytes.toString('base64')}" alt="${escapeHtml(figure.title)}">`,
    `<figcaption><strong>Figure ${number}. ${escapeHtml(figure.title)}.</strong> ${escapeHtml(figure.caption)}</figcaption>`,
    '</figure>',
  ].join('\n');
}

function introduction(metrics: Metrics): string {
  return `<p class="question">${escapeHtml(REPORT_QUESTION)}</p>
${paragraphs(
  `A deep convolutional denoising autoencoder learns to restore ${metrics.dataset.name} ${itemNoun(metrics.dataset.name).plural} from corrupted copies ` +
    `(${describeNoise(metrics.autoencoder.noise)}). It needs no labels, so it can use every training image. Its encoder ` +
    'then becomes the feature extractor of a classifier that sees only some of the labels.\n\n' +
    'The classifier is trained three ways: with the pretrained encoder frozen (only the new head learns), with the ' +
    'pretrained encoder fine-tuned (every weight learns), and from scratch with the same architecture as the baseline. ' +
    'Each is trained on a fraction of the labels and on all of them, and compared on the untouched test set. With a ' +
    'fraction of the labels, two more use the unlabelled images a second way, while the classifier trains: FixMatch, ' +
    'from scratch and from the pretrained encoder.',
)}`;
}

function setup(input: ReportInput): string {
  const { metrics } = input;
  return `${facts([
    [
      'Backend',
      `${metrics.backend.name}${metrics.backend.detail ? ` (${metrics.backend.detail})` : ''}, ${metrics.backend.threads} thread${metrics.backend.threads === 1 ? '' : 's'}${(metrics.backend.classifierWorkers ?? 1) > 1 ? `; classifier runs ${metrics.backend.classifierWorkers} at a time, one thread each` : ''}`,
    ],
    ['Total run time', formatSeconds(metrics.totalSeconds)],
    ['Status', input.status === 'complete' ? 'complete' : 'incomplete: the run stopped early'],
  ])}
<details><summary>The resolved configuration of this run, every default filled in</summary>
<pre>${escapeHtml(prettyJson(input.config))}</pre>
</details>`;
}

function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

function data(metrics: Metrics): string {
  const { dataset } = metrics;
  return `${facts([
    ['Dataset', dataset.name],
    ['Training images', formatInteger(dataset.train)],
    ['Validation images', formatInteger(dataset.validation)],
    ['Test images', formatInteger(dataset.test)],
    ['Image size', `${dataset.height} × ${dataset.width}, one channel`],
    ['Classes', `${dataset.classNames.length}: ${dataset.classNames.join(', ')}`],
    ['Corruption', describeNoise(metrics.autoencoder.noise)],
  ])}
${paragraphs(
  `Validation images are held out of training and only monitor it; the ${formatInteger(dataset.test)} test images ` +
    'are used only for the scores below. The autoencoder sees a freshly corrupted copy of every training image and is ' +
    'asked for the clean original.',
)}`;
}

function model(input: ReportInput): string {
  const { autoencoder } = input.metrics;
  const summaries = input.modelSummaries
    .map((summary) => `<h3>${escapeHtml(summary.name)}</h3>\n<pre>${escapeHtml(summary.text)}</pre>`)
    .join('\n');
  return `${facts([
    ['Encoder parameters', formatInteger(autoencoder.encoderParams)],
    ['Decoder parameters', formatInteger(autoencoder.decoderParams)],
  ])}
${paragraphs(
  'The encoder is shared: the autoencoder trains it to reconstruct, and every classifier adds a classification head on ' +
    'top of it. The scratch baseline uses the same layers with freshly initialised weights.',
)}
${summaries}`;
}

function training(metrics: Metrics): string {
  const { autoencoder } = metrics;
  const last = autoencoder.history.at(-1);
  const rows: [string, string][] = [
    ['Autoencoder epochs', String(autoencoder.epochs)],
    ['Autoencoder training time', formatSeconds(autoencoder.trainSeconds)],
  ];
  if (last !== undefined) {
    rows.push(
      ['Final loss', formatFixed(last.loss, 5)],
      ['Final validation loss', formatFixed(last.validationLoss, 5)],
    );
  }
  const classifierSeconds = metrics.classifiers.reduce((sum, result) => sum + result.trainSeconds, 0);
  rows.push(['Classifier runs', `${metrics.classifiers.length}, ${formatSeconds(classifierSeconds)} together`]);
  return facts(rows);
}

/** "rotated by up to ±12°, scaled by up to ±10% and shifted by up to ±2 pixels" */
function describeDistortion(spec: AugmentationSpec): string {
  return (
    `rotated by up to ±${spec.maxRotationDegrees}°, scaled by up to ±${Math.round(100 * spec.maxScale)}% and shifted by up to ` +
    `±${spec.maxShift} pixel${spec.maxShift === 1 ? '' : 's'}`
  );
}

/** A learning rate as 5×10⁻³. */
function rate(value: number): string {
  const superscript = (text: string) =>
    Array.from(text, (character) => '⁰¹²³⁴⁵⁶⁷⁸⁹⁻'['0123456789-'.indexOf(character)] ?? character).join('');
  const [mantissa, exponent] = value.toExponential(0).split('e') as [string, string];
  return `${mantissa}×10${superscript(exponent.replace('+', ''))}`;
}

const epochs = (count: number) => `${count} epoch${count === 1 ? '' : 's'}`;

/** The autoencoder's training recipe in words, from the run's config (nothing when the config has another shape). */
export function autoencoderRecipe(config: unknown): string {
  const autoencoder = (config as Partial<ExperimentConfig> | null)?.autoencoder;
  if (!autoencoder?.learningRateSchedule) return '';
  const schedule =
    autoencoder.learningRateSchedule === 'cosine'
      ? `falling batch by batch along a cosine to 5% of that over ${epochs(autoencoder.maxEpochs)}`
      : 'throughout';
  return (
    `<p>How the autoencoder was trained: Adam at ${rate(autoencoder.learningRate)}, ${schedule}; batches of ${autoencoder.batchSize}, ` +
    `mean squared error against the clean image, up to ${epochs(autoencoder.maxEpochs)}, stopping after ${epochs(autoencoder.patience)} ` +
    "without a lower validation loss, with the best epoch's weights kept.</p>"
  );
}

/** The classifier training recipe in words, from the run's config (nothing when the config has another shape). */
export function classifierRecipe(config: unknown): string {
  const classifier = (config as Partial<ExperimentConfig> | null)?.classifier;
  if (!classifier?.augmentation || !classifier.frozenCopyAugmentation) return '';
  const frozenData =
    classifier.frozenCopies === 0
      ? 'the codes of the labelled images'
      : `the codes of the labelled images and of ${classifier.frozenCopies} copies of them, each distorted once ` +
        `(${describeDistortion(classifier.frozenCopyAugmentation)}; fewer copies when they would pass ` +
        `${formatInteger(classifier.frozenCopyImagesPerRun)} images), each epoch taking every image in one of its versions at random`;
  const distortion = isIdentity(classifier.augmentation)
    ? 'Labelled images are used as they are.'
    : `While the encoder trains, every labelled image is distorted afresh each epoch: ${describeDistortion(classifier.augmentation)} ` +
      `(bilinear resampling).`;
  const smoothing = classifier.labelSmoothing > 0 ? ` Targets are smoothed by ${classifier.labelSmoothing}.` : '';
  const semi = classifier.semiSupervised;
  const fixMatch =
    semi?.epochs !== undefined && classifier.encoders?.some((mode) => mode.startsWith('fixmatch'))
      ? ` <strong>FixMatch</strong>: ${semi.epochs} epochs of ${semi.stepsPerEpoch} steps, each on ${semi.labelledBatchSize} labelled ` +
        `and ${semi.labelledBatchSize * semi.unlabelledRatio} unlabelled images, at the same rates and cosine decay; the whole ` +
        'schedule is trained, without early stopping or halving, and its final moving average kept.'
      : '';
  // Configs from before the head was a setting had the reference head.
  const headUnits = classifier.headUnits ?? referenceHeadUnits;
  return (
    `<p>How the classifiers were trained: the encoder, then two relu layers of ${headUnits} units and a softmax layer; ` +
    `Adam, batches of ${classifier.batchSize}, early stopping on validation accuracy with the best ` +
    `epoch's weights restored. <strong>Frozen</strong>: the encoder's codes are computed once and only the head trains, on ${escapeHtml(frozenData)}, ` +
    `up to ${classifier.frozenMaxEpochs} epochs (or ${formatInteger(classifier.frozenMaxImagesPerRun)} images) at ${rate(classifier.headLearningRate)} ` +
    `with a cosine decay, patience ${classifier.frozenPatience}. <strong>Fine-tuned</strong>: ${epochs(classifier.warmupEpochs)} of the head alone ` +
    `on the undistorted codes, then the whole network at ${rate(classifier.fineTuneLearningRate)}. <strong>Scratch</strong>: the whole network ` +
    `from seeded random weights at ${rate(classifier.learningRate)}. Whole-network phases run up to ${classifier.maxEpochs} epochs (or ` +
    `${formatInteger(classifier.maxImagesPerRun)} images) with a cosine decay, the rate halved after ${classifier.plateauPatience} epochs ` +
    `without progress, patience ${classifier.patience}.${fixMatch} ${escapeHtml(distortion)}${escapeHtml(smoothing)}</p>`
  );
}

function results(input: ReportInput, figuresIn: (section: ReportSection | undefined) => string): string {
  const { metrics } = input;
  const reports = input.classificationReports
    .map(
      (report) =>
        `<details><summary>${escapeHtml(report.name)}</summary>\n<pre>${escapeHtml(report.text)}</pre>\n</details>`,
    )
    .join('\n');
  const classification =
    metrics.classifiers.length === 0
      ? '<p>No classifier run finished.</p>'
      : `<p>Every classifier run on the test set; the best test accuracy and macro-F1 at each label fraction are in bold.</p>
${comparisonTable(metrics)}
<h3>Per-class F1</h3>
${perClassF1Table(metrics)}
${classDetails(metrics)}
${reports}
${robustness(metrics)}`;
  const noiseLevels =
    metrics.autoencoder.noiseLevels.length === 0
      ? ''
      : `<p>The same autoencoder on other amounts of noise than it was trained on:</p>\n${noiseLevelTable(metrics)}`;
  return `<h3>Denoising</h3>
<p>Test images scored against the clean originals; higher PSNR and SSIM and lower MSE are better.</p>
${reconstructionTable(metrics)}
${noiseLevels}
${figuresIn('reconstruction')}
<h3>What the autoencoder learned</h3>
${figuresIn('representation') || '<p>No figures of the learned features were made in this run.</p>'}
<h3>Classification</h3>
${classification}
${metrics.sweep ? `<h3>Label efficiency</h3>\n<p>${escapeHtml(sweepIntroduction(metrics))}</p>\n${sweepTable(metrics)}\n${sweepRobustnessTable(metrics)}\n${unlabelledSection(metrics)}` : ''}
${metrics.ablation ? `<h3>Which pretraining</h3>\n<p>${escapeHtml(ablationIntroduction(metrics.ablation))}</p>\n${ablationTables(metrics)}` : ''}
${figuresIn('classification')}
${figuresIn(undefined)}`;
}

function robustness(metrics: Metrics): string {
  const table = robustnessTable(metrics);
  if (table === '') return '';
  return `<h3>Robustness to corrupted input</h3>
<p>Every classifier on corrupted copies of the test images, under the corruptions the denoising check uses, and as a fourth
pipeline beside frozen, fine-tuned and scratch: the autoencoder denoises the corrupted image first and the classifier sees its output.</p>
${table}`;
}

/** What the unlabelled images buy, two ways, and the field's results at 100 labels; empty without FixMatch cells. */
function unlabelledSection(metrics: Metrics): string {
  const sentence = unlabelledSentence(metrics);
  if (sentence === '') return '';
  return `<h3>Two uses of the unlabelled images</h3>\n<p>${escapeHtml(sentence)}</p>\n${publishedTable(metrics)}`;
}

function sweepIntroduction(metrics: Metrics): string {
  const sweep = metrics.sweep;
  if (!sweep) return '';
  return (
    `The classifier variants on nested, stratified label subsets from ${formatInteger(sweep.labelCounts[0] ?? 0)} to ` +
    `${formatInteger(sweep.labelCounts[sweep.labelCounts.length - 1] ?? 0)} labels, ${sweep.seeds.length} seeds each, all on the same ` +
    `pretrained autoencoder; ${sweep.validationPolicy}.`
  );
}

function conclusion(input: ReportInput): string {
  const text = input.conclusion ?? buildConclusion(input.metrics);
  const provisional = input.status === 'incomplete' ? '<p><em>Provisional: the run did not finish.</em></p>' : '';
  return `${provisional}<div class="conclusion">${paragraphs(text)}</div>`;
}
