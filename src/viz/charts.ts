// Line charts as SVG strings: Vega-Lite specs compiled and rendered headless by Vega (no browser, no canvas).

import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import { FONT_FAMILY } from './svg.js';

/** Shared look: system fonts, quiet grid, no frame. */
const chartConfig = {
  font: FONT_FAMILY,
  view: { stroke: null },
  axis: {
    labelFontSize: 12,
    titleFontSize: 13,
    titleFontWeight: 500,
    gridColor: '#e6e6e6',
    domainColor: '#888',
    tickColor: '#888',
  },
  legend: { labelFontSize: 12, titleFontSize: 12, orient: 'right' },
  title: { fontSize: 15, fontWeight: 600, anchor: 'start', offset: 12 },
  range: { category: { scheme: 'tableau10' } },
} as const;

/** Compiles a Vega-Lite spec and renders it to an SVG string without touching the network or a canvas. */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ config: chartConfig, background: 'white', padding: 8, ...spec });
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface TrainingSeries {
  /** The run this history belongs to, e.g. 'autoencoder' or 'fine-tuned, 10%'. */
  name: string;
  history: readonly { epoch: number; loss: number; validationLoss: number }[];
}

export interface TrainingCurvesOptions {
  title?: string;
  yTitle?: string;
  /** A log y-axis, for losses that fall over orders of magnitude. Default false. */
  logY?: boolean;
  width?: number;
  height?: number;
}

/** Loss (solid) and validation loss (dashed) per epoch, one colour per series. */
export async function trainingCurvesChart(
  series: readonly TrainingSeries[],
  options: TrainingCurvesOptions = {},
): Promise<string> {
  const values = series.flatMap(({ name, history }) =>
    history.flatMap(({ epoch, loss, validationLoss }) => [
      { series: name, split: 'training', epoch, loss },
      { series: name, split: 'validation', epoch, loss: validationLoss },
    ]),
  );
  const x = {
    field: 'epoch',
    type: 'quantitative',
    title: 'Epoch',
    scale: { zero: false, nice: false },
    axis: { tickMinStep: 1, format: 'd' },
  } as const;
  const y = {
    field: 'loss',
    type: 'quantitative',
    title: options.yTitle ?? 'Loss',
    scale: options.logY === true ? ({ type: 'log' } as const) : { zero: false },
  } as const;
  const color = { field: 'series', type: 'nominal', title: 'Run', sort: series.map((entry) => entry.name) } as const;
  return renderVegaLite({
    ...(options.title === undefined ? {} : { title: options.title }),
    width: options.width ?? 560,
    height: options.height ?? 300,
    data: { values },
    // Points are a layer of their own: on the line mark they would turn the dash legend into dots.
    layer: [
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x,
          y,
          color,
          strokeDash: {
            field: 'split',
            type: 'nominal',
            title: 'Split',
            legend: { symbolStrokeWidth: 2, symbolSize: 300 },
            scale: {
              domain: ['training', 'validation'],
              range: [
                [1, 0],
                [5, 4],
              ],
            },
          },
        },
      },
      { mark: { type: 'point', filled: true, size: 24 }, encoding: { x, y, color } },
    ],
  });
}

export interface LabelSweepPoint {
  /** The classifier variant, e.g. 'fine-tuned'. */
  variant: string;
  /** Number of labelled training images. */
  labels: number;
  /** Mean test accuracy in [0, 1] over repeats. */
  mean: number;
  /** Standard deviation of the test accuracy over repeats. */
  std: number;
}

export interface LabelSweepOptions {
  title?: string;
  width?: number;
  height?: number;
}

/** Test accuracy against the number of labels on a log x-axis: a line per variant and a ±1 std band. */
export async function labelSweepChart(
  points: readonly LabelSweepPoint[],
  options: LabelSweepOptions = {},
): Promise<string> {
  const values = points.map((point) => ({
    ...point,
    lower: point.mean - point.std,
    upper: point.mean + point.std,
  }));
  const x = {
    field: 'labels',
    type: 'quantitative',
    title: 'Labelled training images (log scale)',
    scale: { type: 'log' },
    axis: { format: '~s' },
  } as const;
  const color = {
    field: 'variant',
    type: 'nominal',
    title: 'Encoder',
    legend: { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 300 },
  } as const;
  return renderVegaLite({
    ...(options.title === undefined ? {} : { title: options.title }),
    width: options.width ?? 560,
    height: options.height ?? 300,
    data: { values },
    layer: [
      {
        mark: { type: 'area', opacity: 0.18 },
        encoding: {
          x,
          y: {
            field: 'lower',
            type: 'quantitative',
            title: 'Test accuracy',
            scale: { zero: false },
            axis: { format: '.1%' },
          },
          y2: { field: 'upper' },
          color,
        },
      },
      {
        mark: { type: 'line', point: { size: 36 }, strokeWidth: 2 },
        encoding: { x, y: { field: 'mean', type: 'quantitative' }, color },
      },
    ],
  });
}

/**
 * A scatter of 2-D points coloured by class (tableau10, classes in label order), axes left unlabelled: UMAP's units
 * mean nothing.
 */
export async function codeMapChart(
  points: readonly { x: number; y: number; label: number }[],
  classNames: readonly string[],
  options: { title?: string; size?: number } = {},
): Promise<string> {
  const names = classNames.length > 0 ? classNames : [...new Set(points.map((point) => String(point.label)))];
  const axis = { title: null, labels: false, ticks: false, grid: false, domain: false } as const;
  return renderVegaLite({
    ...(options.title === undefined ? {} : { title: options.title }),
    width: options.size ?? 520,
    height: options.size ?? 520,
    data: {
      values: points.map((point) => ({ x: point.x, y: point.y, className: names[point.label] ?? String(point.label) })),
    },
    mark: { type: 'circle', size: 14, opacity: 0.75 },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { zero: false }, axis },
      y: { field: 'y', type: 'quantitative', scale: { zero: false }, axis },
      color: { field: 'className', type: 'nominal', sort: [...names], title: 'Class', legend: { symbolOpacity: 1 } },
    },
  });
}

export interface AblationPoint {
  /** The pretraining, e.g. 'masking 30%', or 'none (scratch)'. */
  pretraining: string;
  /** 'fine-tuned', 'frozen' or 'scratch'. */
  variant: string;
  /** Facet title, e.g. '1,000 labels'. */
  panel: string;
  mean: number;
  std: number;
}

/**
 * One panel per label count: mean accuracy per pretraining and variant with ±1 std bars, each panel on its own scale.
 */
export async function ablationChart(
  points: readonly AblationPoint[],
  order: { pretrainings: string[]; panels: string[] },
): Promise<string> {
  const values = points.map((point) => ({ ...point, lower: point.mean - point.std, upper: point.mean + point.std }));
  const x = {
    field: 'pretraining',
    type: 'nominal',
    sort: order.pretrainings,
    title: null,
    axis: { labelAngle: -35, labelLimit: 300 },
  } as const;
  const color = { field: 'variant', type: 'nominal', title: 'Encoder' } as const;
  return renderVegaLite({
    data: { values },
    facet: {
      column: {
        field: 'panel',
        type: 'nominal',
        sort: order.panels,
        title: null,
        header: { labelFontSize: 13, labelFontWeight: 600 },
      },
    },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 230,
      height: 260,
      layer: [
        {
          mark: { type: 'rule', strokeWidth: 1.5 },
          encoding: {
            x,
            y: {
              field: 'lower',
              type: 'quantitative',
              scale: { zero: false },
              title: 'Test accuracy',
              axis: { format: '.1%' },
            },
            y2: { field: 'upper' },
            color,
            xOffset: { field: 'variant' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 45 },
          encoding: { x, y: { field: 'mean', type: 'quantitative' }, color, xOffset: { field: 'variant' } },
        },
      ],
    },
  });
}
