// What every stage of a study is handed: the run folder it writes, the resolved config, the backend in use, the
// reporter its progress goes to, a flag to stop at the next batch, and the data when they are prepared already. Only
// the CLI and the writers touch files.
import type { BackendInfo } from '../backend/index.js';
import type { ExperimentConfig } from '../config.js';
import type { PreparedData } from '../data/prepare.js';
import type { RunFolder } from '../io/run-folder.js';
import type { Reporter } from '../train/events.js';

export interface ExperimentContext {
  run: RunFolder;
  config: ExperimentConfig;
  backend: BackendInfo;
  reporter: Reporter;
  shouldStop?: () => boolean;
  /** The config's data, when the caller prepared them already (the CLI does, to check them first; see data.ts). */
  data?: PreparedData;
}

/** What training a classifier needs of the context: no run folder, so a queue's worker can train without one. */
export type TrainingContext = Pick<ExperimentContext, 'config' | 'reporter' | 'shouldStop'>;

/** A stage's own results in the run folder, e.g. `stages/denoise.json`. */
export const stageFile = (stage: string) => `stages/${stage}.json`;
