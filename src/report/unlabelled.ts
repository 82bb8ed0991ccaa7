// What the unlabelled images buy, used two ways: pretraining the encoder on them (denoising) and training the
// classifier on them with its own confident predictions (FixMatch); and the field's published results on MNIST at
// 100 labels beside ours.
import type { Metrics, SweepCell } from '../io/metrics.js';
import { meanAndSpread } from '../io/metrics.js';
import type { EncoderMode } from '../model/classifier.js';
import { ENCODER_NAMES, escapeHtml, formatInteger, formatPoints, htmlTable } from './format.js';

/** Published test accuracies on MNIST with 100 labels, each with its paper. */
export const publishedResults: { method: string; accuracy: string; reference: string; url: string }[] = [
  {
    method: 'Ladder network',
    accuracy: '98.9–99.1%',
    reference: 'Rasmus et al., 2015',
    url: 'https://arxiv.org/abs/1507.02672',
  },
  {
    method: 'Improved GAN (feature matching)',
    accuracy: '99.1%',
    reference: 'Salimans et al., 2016',
    url: 'https://arxiv.org/abs/1606.03498',
  },
  {
    method: 'Virtual adversarial training',
    accuracy: '98.6%',
    reference: 'Miyato et al., 2018',
    url: 'https://arxiv.org/abs/1704.03976',
  },
  {
    method: 'M1+M2 (deep generative models)',
    accuracy: '96.7%',
    reference: 'Kingma et al., 2014',
    url: 'https://arxiv.org/abs/1406.5298',
  },
  {
    method: 'Pseudo-Label with denoising pretraining',
    accuracy: '89.5%',
    reference: 'Lee, 2013',
    url: 'https://www.researchgate.net/publication/280581078',
  },
];

/** The ways of using the unlabelled images the sweep compares with training from scratch on the labels alone. */
const uses: { encoder: EncoderMode; what: string }[] = [
  { encoder: 'finetuned', what: 'denoising pretraining (fine-tuned)' },
  { encoder: 'fixmatch-scratch', what: 'FixMatch' },
  { encoder: 'fixmatch-finetuned', what: 'FixMatch from the pretrained encoder' },
];

const percentOf = (value: { mean: number; std: number }) =>
  `${Math.round(100 * value.mean)} ± ${Math.round(100 * value.std)}%`;

/**
 * For each label count where a semi-supervised variant ran: how much of scratch's gap to all labels each use of the
 * unlabelled images closes, paired by seed (mean ± standard deviation over seeds), and whether pretraining adds to
 * FixMatch. Empty without a sweep, its all-labels cells, or semi-supervised cells.
 */
export function unlabelledSentence(metrics: Pick<Metrics, 'sweep'>): string {
  const sweep = metrics.sweep;
  if (!sweep) return '';
  const all = Math.max(...sweep.labelCounts);
  const find = (encoder: EncoderMode, labels: number, seed: number): SweepCell | undefined =>
    sweep.cells.find((cell) => cell.encoder === encoder && cell.labels === labels && cell.seed === seed);
  const semiLabels = sweep.labelCounts.filter(
    (labels) =>
      labels < all && sweep.cells.some((cell) => cell.labels === labels && cell.encoder.startsWith('fixmatch')),
  );
  const sentences = semiLabels.flatMap((labels) => {
    const paired = (encoder: EncoderMode, value: (cell: SweepCell, scratch: SweepCell, full: SweepCell) => number) => {
      const values = sweep.seeds.flatMap((seed) => {
        const cell = find(encoder, labels, seed);
        const scratch = find('scratch', labels, seed);
        const full = find('scratch', all, seed);
        return cell && scratch && full ? [value(cell, scratch, full)] : [];
      });
      return values.length > 0 ? meanAndSpread(values) : undefined;
    };
    const gap = paired('scratch', (_, scratch, full) => full.accuracy - scratch.accuracy);
    if (!gap || gap.mean <= 0) return [];
    const closed = uses.flatMap(({ encoder, what }) => {
      const share = paired(
        encoder,
        (cell, scratch, full) => (cell.accuracy - scratch.accuracy) / (full.accuracy - scratch.accuracy),
      );
      return share ? [`${what} ${percentOf(share)}`] : [];
    });
    const together = sweep.seeds.flatMap((seed) => {
      const both = find('fixmatch-finetuned', labels, seed);
      const alone = find('fixmatch-scratch', labels, seed);
      return both && alone ? [both.accuracy - alone.accuracy] : [];
    });
    const parts = [
      `With ${formatInteger(labels)} labels, training from scratch is ${formatPoints(gap.mean)} ± ${formatPoints(gap.std)} points below all ${formatInteger(all)}; of that gap, ${closed.join(', ')} is closed (paired by seed, mean ± standard deviation).`,
    ];
    if (together.length > 0) {
      const difference = meanAndSpread(together);
      const verdict =
        difference.mean - difference.std > 0
          ? 'the two uses of the unlabelled images add up'
          : difference.mean + difference.std < 0
            ? 'pretraining gets in FixMatch’s way'
            : 'pretraining adds nothing clear of the spread between seeds to FixMatch';
      parts.push(
        `FixMatch from the pretrained encoder is ${difference.mean >= 0 ? '+' : '−'}${formatPoints(difference.mean)} ± ${formatPoints(difference.std)} points against FixMatch from scratch: ${verdict}.`,
      );
    }
    return [parts.join(' ')];
  });
  return sentences.join(' ');
}

/** Our variants at 100 labels (when the sweep has them) beside the published results, as an HTML table. */
export function publishedTable(metrics: Metrics): string {
  const ours = (metrics.sweep?.summary ?? [])
    .filter((entry) => entry.labels === 100)
    .map((entry) => ({
      method: `This study: ${ENCODER_NAMES[entry.encoder]}`,
      accuracy: `${(100 * entry.accuracy.mean).toFixed(2)} ± ${(100 * entry.accuracy.std).toFixed(2)}%`,
      reference: `${entry.seeds} seeds, measured here`,
      url: '',
    }));
  const rows = [...ours, ...publishedResults];
  const table = htmlTable(
    [
      { header: 'Method', cell: (row) => row.method },
      { header: 'Test accuracy, 100 labels', numeric: true, cell: (row) => row.accuracy },
      { header: 'Source', cell: (row) => row.reference },
    ],
    rows,
    'MNIST with 100 labels: this study against published results (their networks are larger than ours)',
  );
  const links = publishedResults
    .map((row) => `<a href="${escapeHtml(row.url)}">${escapeHtml(row.reference)}</a>`)
    .join('; ');
  return `${table}\n<p>References: ${links}; FixMatch: <a href="https://arxiv.org/abs/2001.07685">Sohn et al., 2020</a>, with FlexMatch's curriculum thresholds (<a href="https://arxiv.org/abs/2110.08263">Zhang et al., 2021</a>) and Mean Teacher's averaged weights (<a href="https://arxiv.org/abs/1703.01780">Tarvainen and Valpola, 2017</a>).</p>`;
}
