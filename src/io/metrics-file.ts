// metrics.json read back: its format version checked, and a file from an older version brought up to the current
// shape, the way that version's report showed it.
//   1  before datasets named their classes: the classes are their label numbers
//   2  dataset.classNames
//   3  classifiers' mistakes and robustness, sweep cells' robustness, the code map, the pretraining ablation: all
//      optional, so a version-2 file reads as a run that measured none of them
import type { Metrics } from './metrics.js';
import { metricsFormatVersion } from './metrics.js';
import type { RunFolder } from './run-folder.js';
import { RunFolderError } from './run-folder.js';

export const metricsFileName = 'metrics.json';
const readableVersions = [1, 2, metricsFormatVersion];

/** The label numbers as class names, as many as the classification reports have classes (MNIST's ten by default). */
function numberedClasses(metrics: Partial<Metrics>): string[] {
  const classes = metrics.classifiers?.[0]?.test.perClass.length ?? 10;
  return Array.from({ length: classes }, (_, label) => String(label));
}

/** A parsed metrics.json of any readable version, in the current shape. Throws RunFolderError for other versions. */
export function upgradeMetrics(saved: unknown, file: string): Metrics {
  const version = saved !== null && typeof saved === 'object' ? (saved as { formatVersion?: unknown }).formatVersion : undefined;
  if (typeof version !== 'number' || !readableVersions.includes(version)) {
    throw new RunFolderError(file, `metrics format version ${String(version)} is not supported (this dae reads ${readableVersions.join(', ')})`,
      'upgrade dae, or write it again with `dae report`');
  }
  const metrics = saved as Partial<Metrics>;
  // A sweep run before the classifiers writes metrics.json with its results alone, and no dataset yet.
  const dataset = metrics.dataset === undefined ? {} : { dataset: { ...metrics.dataset, classNames: metrics.dataset.classNames ?? numberedClasses(metrics) } };
  return { ...metrics, ...dataset, formatVersion: metricsFormatVersion } as Metrics;
}

/** The run folder's metrics.json, checked and upgraded (upgradeMetrics). */
export async function readMetrics(run: RunFolder): Promise<Metrics> {
  return upgradeMetrics(await run.readJson<unknown>(metricsFileName), run.path(metricsFileName));
}
