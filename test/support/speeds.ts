// Made-up machine speeds for the tests of the time estimate's display, as the calibration would measure them.
import type { MachineSpeeds } from '../../src/cli/calibration.js';

/** Made-up speeds, as the calibration would measure them: the tiny study's work priced at a few seconds. */
export const madeUpSpeeds: MachineSpeeds = {
  epochs: {
    autoencoder: { perStep: 0.01, perImage: 0.002 },
    classifier: { perStep: 0.005, perImage: 0.0005 },
    head: { perStep: 0.001, perImage: 0 },
  },
  forward: { autoencoder: 0.001, encoder: 0.0002, classifier: 0.0002, codeMap: 0.002 },
};
