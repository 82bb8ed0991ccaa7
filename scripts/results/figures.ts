// The figures of README.md and docs/, drawn from results/ by the same code that draws them in a run's report.
import { codeMapChart } from '../../src/viz/charts.js';
import { ablationFigure } from '../../src/grid/ablation.js';
import { sweepFigure } from '../../src/grid/sweep.js';
import type { ResultsData } from './data.js';

export interface Figure {
  /** Where it goes, from the repository's root. */
  path: string;
  /** Its SVG, or undefined while its data is not in results/ (the file is then left as it is). */
  render: (data: ResultsData) => Promise<string | undefined>;
}

/**
 * A scatter of thousands of points as Vega draws it is mostly each point's accessibility attributes, its 15-digit
 * coordinates and a path for its circle: as plain circles at a tenth of a pixel the file is a fraction of the size
 * and looks the same.
 */
const compact = (svg: string) =>
  svg
    .replace(/ aria-label="[^"]*" role="graphics-symbol" aria-roledescription="circle"/g, '')
    .replace(/\d+\.\d{3,}/g, (number) => String(Math.round(Number(number) * 10) / 10))
    .replace(
      /<path transform="translate\(([-\d.]+),([-\d.]+)\)" d="M([\d.]+),0A[^"]*" fill="([^"]*)" stroke-width="2" opacity="([^"]*)"\/>/g,
      '<circle cx="$1" cy="$2" r="$3" fill="$4" opacity="$5"/>',
    );

export const figures: readonly Figure[] = [
  {
    path: 'docs/figures/label-sweep.svg',
    render: async ({ sweep }) => (sweep ? sweepFigure(sweep.sweep) : undefined),
  },
  {
    path: 'docs/figures/ablation.svg',
    render: async ({ ablation }) => (ablation ? ablationFigure(ablation.ablation) : undefined),
  },
  {
    path: 'docs/figures/code-map.svg',
    render: async ({ codeMaps: [map] }) =>
      map
        ? compact(
            await codeMapChart(
              map.x.map((x, index) => ({ x, y: map.y[index] ?? 0, label: map.labels[index] ?? 0 })),
              map.classNames,
            ),
          )
        : undefined,
  },
];
