// The pretraining ablation in the report: one table per pretrained variant (each autoencoder's validation MSE
// beside the downstream accuracy, and the paired differences against plain and against scratch), and the
// conclusion's paragraph: which corruption pretrains best, by how much, with its spread.
import type { AblationResult, AblationSummaryEntry, Metrics, MeanAndSpread } from '../io/metrics.js';
import type { EncoderMode } from '../model/classifier.js';
import { ENCODER_NAMES, formatFixed, formatInteger, formatPercent, htmlTable } from './format.js';
import type { Column } from './format.js';

const signed = (value: MeanAndSpread | undefined) =>
  value
    ? `${value.mean >= 0 ? '+' : '−'}${formatFixed(Math.abs(100 * value.mean), 2)} ± ${formatFixed(100 * value.std, 2)}`
    : '–';
const spread = (value: MeanAndSpread | undefined) =>
  value ? `${formatPercent(value.mean)} ± ${formatFixed(100 * value.std, 2)}` : '–';

/** Which pretrained variants the ablation trained, in the report's order. */
function variants(ablation: AblationResult): Exclude<EncoderMode, 'scratch'>[] {
  return (['finetuned', 'frozen'] as const).filter((encoder) =>
    ablation.summary.some((entry) => entry.encoder === encoder),
  );
}

export function ablationIntroduction(ablation: AblationResult): string {
  const { budget } = ablation;
  return (
    `${ablation.pretrainings.length} autoencoders of the study's architecture, pretrained on the same ${formatInteger(budget.pretrainImages)} ` +
    `unlabelled images for ${budget.pretrainEpochs} epoch${budget.pretrainEpochs === 1 ? '' : 's'} each (an equal budget, smaller than the study's own pretraining), from the same ` +
    `initial weights and batch order: only the corruption differs. On each, the frozen and fine-tuned classifiers are trained on the same ` +
    `nested label subsets with the same ${ablation.seeds.length} seeds as scratch, the baseline (the sweep's recipe, at least ` +
    `${formatInteger(budget.minimumSteps)} steps, at most ${formatInteger(budget.imagesPerCell)} images per cell). Differences are paired by seed: ` +
    "a cell minus the plain autoencoder's (or scratch's) cell with the same variant, labels and seed, then mean ± standard deviation over seeds. " +
    "Validation MSE is that of the autoencoder's output against the clean validation images, for input under its own corruption (its training " +
    'loss), for clean input, and for input under 20% salt and pepper (one yardstick for all).'
  );
}

/** One table per variant: a row per pretraining and one for scratch. */
export function ablationTables(metrics: Metrics): string {
  const ablation = metrics.ablation;
  if (!ablation) return '';
  const find = (pretraining: string, encoder: EncoderMode, labels: number) =>
    ablation.summary.find(
      (entry) => entry.pretraining === pretraining && entry.encoder === encoder && entry.labels === labels,
    );
  const largest = ablation.labelCounts[ablation.labelCounts.length - 1] ?? 0;
  return variants(ablation)
    .map((encoder) => {
      type Row = { pretraining: string; title: string; mse?: [number, number, number] };
      const rows: Row[] = [
        ...ablation.pretrainings.map((entry): Row => ({
          pretraining: entry.name,
          title: entry.title,
          mse: [entry.validationLoss, entry.cleanValidationMse, entry.referenceValidationMse],
        })),
        { pretraining: 'scratch', title: 'none: from scratch' },
      ];
      const entry = (row: Row, labels: number): AblationSummaryEntry | undefined =>
        find(row.pretraining, row.pretraining === 'scratch' ? 'scratch' : encoder, labels);
      const bestAt = (labels: number) => (row: Row) => {
        const value = entry(row, labels)?.accuracy.mean ?? -1;
        return value === Math.max(...rows.map((other) => entry(other, labels)?.accuracy.mean ?? -1));
      };
      const columns: Column<Row>[] = [
        { header: 'Pretraining', cell: (row) => row.title },
        {
          header: 'Val. MSE, own corruption',
          numeric: true,
          cell: (row) => (row.mse ? formatFixed(row.mse[0], 5) : ''),
        },
        { header: 'clean input', numeric: true, cell: (row) => (row.mse ? formatFixed(row.mse[1], 5) : '') },
        { header: 's&p 20% input', numeric: true, cell: (row) => (row.mse ? formatFixed(row.mse[2], 5) : '') },
        ...ablation.labelCounts.flatMap((labels): Column<Row>[] => [
          {
            header: `${formatInteger(labels)} labels`,
            numeric: true,
            cell: (row) => spread(entry(row, labels)?.accuracy),
            strong: bestAt(labels),
          },
          { header: 'vs plain', numeric: true, cell: (row) => signed(entry(row, labels)?.versusPlain) },
          { header: 'vs scratch', numeric: true, cell: (row) => signed(entry(row, labels)?.versusScratch) },
        ]),
        {
          header: `corrupted, ${formatInteger(largest)} labels`,
          numeric: true,
          cell: (row) => spread(entry(row, largest)?.corrupted),
        },
      ];
      return (
        `<h4>${ENCODER_NAMES[encoder].replace(/^./, (first) => first.toUpperCase())} encoder</h4>\n` +
        htmlTable(
          columns,
          rows,
          `Test accuracy, mean ± standard deviation over ${ablation.seeds.length} seeds; differences in points, paired by seed; the last column is the mean over the seven corruptions of the first 2,000 test images`,
        )
      );
    })
    .join('\n');
}

/**
 * Per variant and label count: the best pretraining, its paired difference against plain and against scratch
 * (clear when the mean minus one standard deviation is above zero), and whether the best denoiser is also the
 * best pretrainer.
 */
export function ablationConclusion(metrics: Pick<Metrics, 'ablation'>): string {
  const ablation = metrics.ablation;
  if (!ablation || ablation.summary.length === 0) return '';
  const title = (name: string) => ablation.pretrainings.find((entry) => entry.name === name)?.title ?? name;
  const points = (value: MeanAndSpread) =>
    `${value.mean >= 0 ? '+' : '−'}${formatFixed(Math.abs(100 * value.mean), 2)} ± ${formatFixed(100 * value.std, 2)} points`;
  const verdict = (value: MeanAndSpread | undefined, against: string) =>
    value === undefined
      ? ''
      : `${points(value)} against ${against}${value.mean - value.std > 0 ? ' (clear of the seed spread)' : value.mean + value.std < 0 ? ' (a clear loss)' : ' (within the seed spread)'}`;
  const sentences: string[] = [];
  for (const encoder of variants(ablation)) {
    const parts = ablation.labelCounts.flatMap((labels) => {
      const candidates = ablation.summary.filter(
        (entry) => entry.encoder === encoder && entry.labels === labels && entry.pretraining !== 'scratch',
      );
      const best = candidates.sort((a, b) => b.accuracy.mean - a.accuracy.mean)[0];
      if (!best) return [];
      const against = [verdict(best.versusPlain, 'plain'), verdict(best.versusScratch, 'scratch')]
        .filter((text) => text !== '')
        .join(', ');
      return [
        `at ${formatInteger(labels)} labels ${title(best.pretraining)} (${formatPercent(best.accuracy.mean)} ± ${formatFixed(100 * best.accuracy.std, 2)}${against ? `; ${against}` : ''})`,
      ];
    });
    if (parts.length > 0)
      sentences.push(
        `With the ${ENCODER_NAMES[encoder].replace('pretrained, ', '')} encoder, the best pretraining was ${parts.join('; ')}.`,
      );
  }
  const bestDenoiser = [...ablation.pretrainings].sort(
    (a, b) => a.referenceValidationMse - b.referenceValidationMse,
  )[0];
  const largest = ablation.labelCounts[ablation.labelCounts.length - 1];
  const bestPretrainer = ablation.summary
    .filter((entry) => entry.encoder === 'finetuned' && entry.labels === largest && entry.pretraining !== 'scratch')
    .sort((a, b) => b.accuracy.mean - a.accuracy.mean)[0];
  if (bestDenoiser && bestPretrainer) {
    sentences.push(
      bestDenoiser.name === bestPretrainer.pretraining
        ? `The best denoiser (lowest validation MSE under 20% salt and pepper: ${title(bestDenoiser.name)}) is also the best pretrainer for fine-tuning on all labels.`
        : `The best denoiser (lowest validation MSE under 20% salt and pepper: ${title(bestDenoiser.name)}, ${formatFixed(bestDenoiser.referenceValidationMse, 5)}) is not the best pretrainer for fine-tuning on all labels (${title(bestPretrainer.pretraining)}).`,
    );
  }
  return sentences.join(' ');
}
