// The study's data: the config's dataset prepared (data/prepare.ts) and checked for what the study's models and
// scores need of its images, so that a dataset the study cannot use is refused when it is loaded, before any run
// folder is made or any epoch trained, rather than by the first stage that trips on it.
import { DatasetError } from '../data/dataset.js';
import { prepareData } from '../data/prepare.js';
import type { DataSettings, PreparedData } from '../data/prepare.js';
import { SplitError } from '../data/split.js';
import { ssimWindowSize } from '../eval/reconstruction.js';
import { imageSideMultiple } from '../model/autoencoder.js';
import type { ExperimentContext } from './context.js';

/**
 * The largest image side: the autoencoder's dense layers grow with the image's area (at 256x256 the coding layer alone
 * has 8.4 million weights), and the test set and its corrupted copies are held in memory as 32-bit floats.
 */
export const maxImageSide = 256;
/** The smallest: a multiple of what the convolutions halve, and no smaller than SSIM's window. */
export const minImageSide = Math.ceil(ssimWindowSize / imageSideMultiple) * imageSideMultiple;

/** The config's data, prepared; throws DatasetError (naming the folder) for images the study cannot use. */
export async function prepareStudyData(config: DataSettings): Promise<PreparedData> {
  const folder = config.data.directory ?? 'the embedded dataset';
  let data: PreparedData;
  try {
    data = await prepareData(config);
  } catch (error) {
    // Too few training images for the validation split the config holds out: the dataset is what to change.
    if (!(error instanceof SplitError)) throw error;
    throw new DatasetError(
      folder,
      `cannot be split for this run: ${error.problem}`,
      `use a dataset with more training images, or a preset that holds out fewer than ${config.data.validationCount} for validation`,
    );
  }
  const { height, width } = data.train;
  const fits = (side: number) => side % imageSideMultiple === 0 && side >= minImageSide && side <= maxImageSide;
  if (!fits(height) || !fits(width)) {
    throw new DatasetError(
      folder,
      `images are ${height}x${width}, but the autoencoder needs sides that are multiples of ${imageSideMultiple} from ${minImageSide} to ${maxImageSide}`,
      'pad or crop the images to such a size (MNIST is 28x28)',
    );
  }
  return data;
}

/** The context's data when its caller prepared them already (the CLI does, to check them first), else prepared now. */
export const studyData = (context: Pick<ExperimentContext, 'config' | 'data'>): Promise<PreparedData> =>
  context.data ? Promise.resolve(context.data) : prepareStudyData(context.config);
