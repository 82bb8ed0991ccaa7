// The conclusion written from the numbers: how does the pretrained classifier on a tenth of the labels compare with
// the same classifier on all of them?

import { ablationConclusion } from './ablation.js';
import { robustnessSentence } from './robustness.js';
import type { ClassifierResult, Metrics } from '../io/metrics.js';
import { variants } from '../model/classifier.js';
import type { EncoderMode } from '../model/classifier.js';
import { unlabelledSentence } from './unlabelled.js';
import {
  ENCODER_NAMES,
  ENCODER_ORDER,
  itemNoun,
  formatFixed,
  formatFraction,
  formatInteger,
  formatPercent,
  formatPoints,
} from './format.js';
import { describeNoise } from '../data/noise.js';

interface RunSummary {
  encoder: EncoderMode;
  labelFraction: number;
  labels: number;
  /** Mean test accuracy over the runs with this encoder and label fraction (repeats with other seeds). */
  accuracy: number;
  runs: number;
}

/** Groups classifier runs by encoder and label fraction, averaging repeats. */
export function summariseRuns(classifiers: readonly ClassifierResult[]): RunSummary[] {
  const groups = new Map<string, ClassifierResult[]>();
  for (const result of classifiers) {
    const key = `${result.encoder}@${result.labelFraction}`;
    groups.set(key, [...(groups.get(key) ?? []), result]);
  }
  return [...groups.values()].flatMap((runs) => {
    const first = runs[0];
    if (first === undefined) return [];
    const mean = (pick: (run: ClassifierResult) => number): number =>
      runs.reduce((sum, run) => sum + pick(run), 0) / runs.length;
    return [
      {
        encoder: first.encoder,
        labelFraction: first.labelFraction,
        labels: mean((run) => run.labels),
        accuracy: mean((run) => run.test.accuracy),
        runs: runs.length,
      },
    ];
  });
}

/** '0.60 points above' or '1.20 points below'. */
function relation(difference: number): string {
  if (Math.abs(difference) < 0.00005) return 'level with';
  return `${formatPoints(difference)} points ${difference > 0 ? 'above' : 'below'}`;
}

function accuracyOf(run: RunSummary): string {
  return `${formatPercent(run.accuracy)}${run.runs > 1 ? `, mean of ${run.runs} runs` : ''}`;
}

/**
 * A paragraph answering the report's question from the numbers: the fine-tuned classifier on the smallest label
 * fraction against the best one on all labels, the three encoders at the small fraction, and how much of the cost of
 * fewer labels pretraining wins back. Sentences whose runs are missing are left out and the gap is said.
 */
export function buildConclusion(metrics: Metrics): string {
  const sentences: string[] = [];
  const { noisy, denoised } = metrics.autoencoder.test;
  if (metrics.autoencoder.epochs > 0) {
    sentences.push(
      `On test ${itemNoun(metrics.dataset.name).plural} corrupted with ${describeNoise(metrics.autoencoder.noise)}, the denoising autoencoder raised the PSNR ` +
        `from ${formatFixed(noisy.psnr, 2)} dB to ${formatFixed(denoised.psnr, 2)} dB and the SSIM from ` +
        `${formatFixed(noisy.ssim, 3)} to ${formatFixed(denoised.ssim, 3)}.`,
    );
  }

  const runs = summariseRuns(metrics.classifiers);
  const fractions = [...new Set(runs.map((run) => run.labelFraction))].sort((a, b) => a - b);
  const fullFraction = fractions.includes(1) ? 1 : undefined;
  const lowFraction = fractions.find((fraction) => fraction < 1);
  const find = (encoder: EncoderMode, fraction: number | undefined): RunSummary | undefined =>
    fraction === undefined ? undefined : runs.find((run) => run.encoder === encoder && run.labelFraction === fraction);

  if (lowFraction === undefined || fullFraction === undefined) {
    const missing = lowFraction === undefined ? 'a reduced label fraction' : 'all labels';
    sentences.push(
      `No classifier trained with ${missing} finished, so the comparison between a tenth of the labels and all of them stays open.`,
    );
    return sentences.join(' ');
  }

  const low = formatFraction(lowFraction);
  const fineTunedLow = find('finetuned', lowFraction);
  const frozenLow = find('frozen', lowFraction);
  const scratchLow = find('scratch', lowFraction);
  const scratchFull = find('scratch', fullFraction);
  const bestFull = ENCODER_ORDER.map((encoder) => find(encoder, fullFraction))
    .filter((run): run is RunSummary => run !== undefined)
    .reduce<RunSummary | undefined>(
      (best, run) => (best === undefined || run.accuracy > best.accuracy ? run : best),
      undefined,
    );

  if (fineTunedLow !== undefined && bestFull !== undefined) {
    sentences.push(
      `Fine-tuned from the pretrained encoder with ${low} of the labels (${formatInteger(fineTunedLow.labels)} images), the classifier ` +
        `reaches ${accuracyOf(fineTunedLow)} test accuracy, ${relation(fineTunedLow.accuracy - bestFull.accuracy)} the best ` +
        `classifier trained on all ${formatInteger(bestFull.labels)} labels (${accuracyOf(bestFull)}, ${ENCODER_NAMES[bestFull.encoder]}).`,
    );
  } else {
    sentences.push(
      `The fine-tuned classifier at ${low} of the labels or every classifier on all labels is missing, so the main comparison cannot be made.`,
    );
  }

  const comparisons: string[] = [];
  const reference = fineTunedLow ?? frozenLow;
  for (const other of [scratchLow, frozenLow]) {
    if (reference === undefined || other === undefined || other === reference) continue;
    comparisons.push(
      `${relation(reference.accuracy - other.accuracy)} the ${ENCODER_NAMES[other.encoder]} one (${accuracyOf(other)})`,
    );
  }
  if (reference !== undefined && comparisons.length > 0) {
    sentences.push(
      `At ${low} of the labels the ${ENCODER_NAMES[reference.encoder]} classifier is ${comparisons.join(' and ')}.`,
    );
  }

  if (reference !== undefined && scratchLow !== undefined && scratchFull !== undefined) {
    const lostByFewerLabels = scratchFull.accuracy - scratchLow.accuracy;
    const wonBack = reference.accuracy - scratchLow.accuracy;
    if (lostByFewerLabels < 0.001) {
      sentences.push(
        `Even from scratch, ${low} of the labels comes within ${formatPoints(lostByFewerLabels)} points of all of them, so there is little for pretraining to win back on this data.`,
      );
    } else if (wonBack <= 0) {
      sentences.push(
        `Training from scratch loses ${formatPoints(lostByFewerLabels)} points when the labels drop from 100% to ${low}, and the ${ENCODER_NAMES[reference.encoder]} classifier wins none of it back.`,
      );
    } else {
      sentences.push(
        `Training from scratch loses ${formatPoints(lostByFewerLabels)} points when the labels drop from 100% to ${low}; ` +
          `the ${ENCODER_NAMES[reference.encoder]} classifier wins back ${formatPercent(wonBack / lostByFewerLabels, 0)} of that loss.`,
      );
    }
  }
  const semiLow = ENCODER_ORDER.filter((encoder) => variants[encoder].semiSupervised)
    .map((encoder) => find(encoder, lowFraction))
    .filter((run): run is RunSummary => run !== undefined);
  if (semiLow.length > 0 && scratchLow !== undefined && scratchFull !== undefined) {
    const lost = scratchFull.accuracy - scratchLow.accuracy;
    const each = semiLow.map(
      (run) =>
        `${ENCODER_NAMES[run.encoder]} reaches ${accuracyOf(run)}` +
        (lost >= 0.001
          ? ` (${formatPercent((run.accuracy - scratchLow.accuracy) / lost, 0)} of that loss won back)`
          : ''),
    );
    sentences.push(`Training on the unlabelled images too, with ${low} of the labels: ${each.join('; ')}.`);
  }
  return [
    sentences.join(' '),
    robustnessSentence(metrics),
    sweepSentence(metrics),
    unlabelledSentence(metrics),
    ablationConclusion(metrics),
  ]
    .filter((text) => text !== '')
    .join('\n\n');
}

/**
 * Where pretraining helps, from the sweep: a gain (fine-tuned − scratch, paired by seed) counts as clear when its
 * mean minus one standard deviation is above zero, and as a loss when its mean plus one standard deviation is
 * below zero; anything else is within the seed-to-seed spread. Pretraining stops helping above the largest
 * label count with a clear gain.
 */
export function sweepSentence(metrics: Pick<Metrics, 'sweep'>): string {
  const sweep = metrics.sweep;
  if (!sweep || sweep.gain.length === 0) return '';
  const gains = [...sweep.gain].sort((a, b) => a.labels - b.labels);
  const count = (labels: number) => labels.toLocaleString('en-US');
  const describe = (gain: (typeof gains)[number]) =>
    `${gain.mean >= 0 ? '+' : '−'}${formatPoints(Math.abs(gain.mean))} ± ${formatPoints(gain.std)} points at ${count(gain.labels)} labels`;
  const list = (group: typeof gains) => group.map((gain) => count(gain.labels)).join(', ');
  const clear = gains.filter((gain) => gain.mean - gain.std > 0);
  const losses = gains.filter((gain) => gain.mean + gain.std < 0);
  const within = gains.filter((gain) => !clear.includes(gain) && !losses.includes(gain));
  const parts = [
    `Across ${sweep.seeds.length} seeds, the gain of fine-tuning the pretrained encoder over training from scratch was ${gains.map(describe).join(', ')}.`,
  ];
  if (clear.length === 0) {
    parts.push('At no label count does it stand clear of the spread between seeds.');
  } else {
    parts.push(
      `It stands clear of the spread between seeds at ${list(clear)} labels` +
        (within.length > 0 ? `, is within the spread at ${list(within)}` : '') +
        (losses.length > 0 ? `, and is a loss at ${list(losses)}` : '') +
        '.',
    );
    const largest = clear[clear.length - 1]!.labels;
    const above = gains.filter((gain) => gain.labels > largest);
    if (above.length > 0) parts.push(`Pretraining stops helping above about ${count(largest)} labels.`);
  }
  return parts.join(' ');
}
