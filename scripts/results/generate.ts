// Regenerates every results table, sentence and figure of README.md and docs/*.md from results/, or, checking,
// reports each one that differs from what results/ gives. The tables of regions below is the one list of what can be
// generated; a document names the regions it shows.
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { readResults, ResultsError } from './data.js';
import type { ResultsData } from './data.js';
import { figures } from './figures.js';
import { fillRegions } from './regions.js';
import { commonRegions, provenanceProblems } from './render-common.js';
import type { Renderer } from './render-common.js';
import { gridRegions } from './render-grids.js';
import { speedRegions } from './render-speed.js';
import { studyRegions } from './render-study.js';

export const regions: Record<string, Renderer> = {
  ...commonRegions,
  ...studyRegions,
  ...gridRegions,
  ...speedRegions,
};

/** The documents with generated regions: README.md and every Markdown file of docs/. */
export async function documents(root: string): Promise<string[]> {
  const docs = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).sort();
  return ['README.md', ...docs.map((name) => `docs/${name}`)];
}

export interface Outcome {
  /** Files written (generate) or that differ from results/ (check), with the regions concerned. */
  differences: string[];
  /** What the data does not vouch for: a mix of machines or builds. */
  warnings: string[];
}

const render = (data: ResultsData) => (name: string) => {
  const renderer = regions[name];
  if (renderer === undefined) {
    throw new ResultsError(`no such region; the regions are ${Object.keys(regions).join(', ')}`);
  }
  return renderer(data);
};

/** Fills every document's regions and draws every figure; writes them unless `check`. */
export async function generate(root: string, options: { check: boolean }): Promise<Outcome> {
  const data = await readResults(root);
  const differences: string[] = [];
  for (const file of await documents(root)) {
    const before = await readFile(join(root, file), 'utf8');
    const { text, regions: filled } = fillRegions(before, file, render(data));
    if (text === before) continue;
    const changed = filled.filter((region) => region.changed);
    differences.push(`${file}: ${changed.map((region) => `${region.name} (line ${region.line})`).join(', ')}`);
    if (!options.check) await writeFile(join(root, file), text);
  }
  for (const figure of figures) {
    const svg = await figure.render(data);
    if (svg === undefined) continue;
    const before = await readFile(join(root, figure.path), 'utf8').catch(() => undefined);
    if (svg === before) continue;
    differences.push(figure.path);
    if (!options.check) {
      await mkdir(dirname(join(root, figure.path)), { recursive: true });
      await writeFile(join(root, figure.path), svg);
    }
  }
  return { differences, warnings: provenanceProblems(data) };
}
