// What the HTML report is made from: the run's metrics plus the pieces only the CLI can gather (figures, summaries).

import type { Metrics } from '../io/metrics.js';

/**
 * Where a figure goes. The first three are sections of their own; the last three are parts of Results:
 * denoising quality, what the autoencoder learned, and the classifier comparison.
 */
export type ReportSection = 'data' | 'model' | 'training' | 'reconstruction' | 'representation' | 'classification';

export interface ReportFigure {
  /** A short slug, used as the HTML anchor (characters other than a-z, 0-9 and '-' are dropped). */
  id: string;
  title: string;
  /** One or more full sentences saying what the figure shows and how to read it. */
  caption: string;
  mime: 'image/png' | 'image/svg+xml';
  /** The file's bytes, or for SVG its text. */
  data: Buffer | string;
  /** Default: the end of Results. */
  section?: ReportSection;
}

export interface ReportInput {
  metrics: Metrics;
  /** The resolved configuration of the run, shown as pretty-printed JSON. */
  config: unknown;
  /** Keras-style model summaries, shown verbatim. */
  modelSummaries: { name: string; text: string }[];
  figures: ReportFigure[];
  /** Text classification reports in scikit-learn's layout, shown verbatim. */
  classificationReports: { name: string; text: string }[];
  /** Replaces the conclusion written from the numbers; paragraphs are separated by blank lines. */
  conclusion?: string;
  status: 'complete' | 'incomplete';
}
