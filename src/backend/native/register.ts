// Registers the `native` backend: tfjs's cpu backend with the kernels that dominate training replaced by the
// addon's. Every other kernel is the cpu one, registered again under the new backend name.
import { getKernelsForBackend, registerBackend, registerKernel } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

import type { NativeAddon } from './addon.js';
import { batchMatMulConfig, fusedMatMulConfig } from './kernels/BatchMatMul.js';
import { conv2dConfig, fusedConv2dConfig } from './kernels/Conv2D.js';
import { conv2dBackpropFilterConfig } from './kernels/Conv2DBackpropFilter.js';
import { conv2dBackpropInputConfig } from './kernels/Conv2DBackpropInput.js';
import { NativeBackend } from './memory.js';
import { elementwiseConfigs } from './kernels/Elementwise.js';
import { fusedAdamConfig } from './kernels/FusedAdam.js';

export function nativeKernelConfigs(addon: NativeAddon): KernelConfig[] {
  return [
    conv2dConfig(addon),
    fusedConv2dConfig(addon),
    conv2dBackpropInputConfig(addon),
    conv2dBackpropFilterConfig(addon),
    batchMatMulConfig(addon),
    fusedMatMulConfig(addon),
    ...elementwiseConfigs(addon),
    fusedAdamConfig(addon),
  ];
}

let registered = false;

export function registerNativeBackend(addon: NativeAddon): void {
  if (registered) return;
  registerBackend('native', () => new NativeBackend(), 0);
  const replaced = nativeKernelConfigs(addon);
  const replacedNames = new Set(replaced.map((config) => config.kernelName));
  for (const config of getKernelsForBackend('cpu')) {
    if (replacedNames.has(config.kernelName)) continue;
    const cpuKernel = config.kernelFunc as KernelFunc;
    registerKernel({
      ...config,
      backendName: 'native',
      kernelFunc: (args) => {
        const outputs = cpuKernel(args) as TensorInfo | TensorInfo[];
        (args.backend as NativeBackend).pinSharedOutputs(outputs);
        return outputs;
      },
    });
  }
  for (const config of replaced) registerKernel(config);
  registered = true;
}
