// The ablation's numbers: mean ± std per (pretraining, variant, label count) over seeds, and the paired
// differences against the plain autoencoder and against scratch (same variant, labels and seed).
import { meanAndSpread } from '../io/metrics.js';
import { robustnessSummary } from './cells.js';
import type { AblationCell, AblationResult, AblationSummaryEntry } from '../io/metrics.js';

export const plainPretraining = 'plain';

export function summariseAblation(input: Omit<AblationResult, 'summary'>): AblationResult {
  const { cells, labelCounts, seeds } = input;
  const find = (pretraining: string, encoder: string, labels: number, seed: number) =>
    cells.find(
      (cell) =>
        cell.pretraining === pretraining && cell.encoder === encoder && cell.labels === labels && cell.seed === seed,
    );
  const paired = (runs: AblationCell[], other: (cell: AblationCell) => AblationCell | undefined) => {
    const differences = runs.flatMap((cell) => {
      const match = other(cell);
      return match ? [cell.accuracy - match.accuracy] : [];
    });
    return differences.length === runs.length && differences.length > 0 ? meanAndSpread(differences) : undefined;
  };
  const groups = [...new Set(cells.map((cell) => `${cell.pretraining}\u0000${cell.encoder}`))].map(
    (key) => key.split('\u0000') as [string, AblationCell['encoder']],
  );
  const summary: AblationSummaryEntry[] = labelCounts.flatMap((labels) =>
    groups.flatMap(([pretraining, encoder]) => {
      const runs = seeds.flatMap((seed) => find(pretraining, encoder, labels, seed) ?? []);
      if (runs.length === 0) return [];
      const versusPlain =
        pretraining === 'scratch' || pretraining === plainPretraining
          ? undefined
          : paired(runs, (cell) => find(plainPretraining, encoder, labels, cell.seed));
      const versusScratch =
        pretraining === 'scratch' ? undefined : paired(runs, (cell) => find('scratch', 'scratch', labels, cell.seed));
      return [
        {
          pretraining,
          encoder,
          labels,
          seeds: runs.length,
          accuracy: meanAndSpread(runs.map((cell) => cell.accuracy)),
          ...robustnessSummary(runs),
          ...(versusPlain ? { versusPlain } : {}),
          ...(versusScratch ? { versusScratch } : {}),
        },
      ];
    }),
  );
  return { ...input, summary };
}
