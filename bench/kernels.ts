// The kernels of the autoencoder's training step at the model's shapes, one case each, for the bench's per-kernel
// table: the tfjs op that reaches each kernel, and its FLOP (2 per multiply-add).
import * as tf from '@tensorflow/tfjs-core';

export interface KernelCase {
  name: string;
  flops: number;
  run: () => tf.Tensor;
}

/** The convolutions and matmuls of one autoencoder training step at batch `n`, forward and backward. */
export function kernelCases(n: number): { cases: KernelCase[]; inputs: tf.Tensor[] } {
  const r = (shape: [number, number, number, number]) => tf.randomUniform(shape, -1, 1) as tf.Tensor4D;
  const r2 = (shape: [number, number]) => tf.randomUniform(shape, -1, 1) as tf.Tensor2D;
  // Conv2DBackpropFilter has no public op; the gradient code reaches it through the kernel registry too.
  const backpropFilter = (x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], stride: number) =>
    tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: stride,
      pad: 'same',
      dataFormat: 'NHWC',
      filterShape,
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const x28 = r([n, 28, 28, 1]),
    a14x32 = r([n, 14, 14, 32]),
    a7x64 = r([n, 7, 7, 64]),
    a14x64 = r([n, 14, 14, 64]);
  const a28x32 = r([n, 28, 28, 32]),
    a28x1 = r([n, 28, 28, 1]);
  const w1 = r([3, 3, 1, 32]),
    w2 = r([3, 3, 32, 64]),
    wt1 = r([3, 3, 64, 64]),
    wt2 = r([3, 3, 32, 64]),
    wt3 = r([3, 3, 1, 32]);
  const flat = r2([n, 3136]),
    code = r2([n, 32]),
    wd1 = r2([3136, 32]),
    wd2 = r2([32, 3136]);
  const mac = (pixels: number, k: number, f: number) => 2 * n * pixels * k * f;
  const cases: KernelCase[] = [
    {
      name: 'Conv2D        encoder conv1 28x28x1 -> 14x14x32',
      flops: mac(196, 9, 32),
      run: () => tf.conv2d(x28, w1, 2, 'same'),
    },
    {
      name: 'Conv2D        encoder conv2 14x14x32 -> 7x7x64',
      flops: mac(49, 288, 64),
      run: () => tf.conv2d(a14x32, w2, 2, 'same'),
    },
    {
      name: 'BackpropInput decoder deconv1 7x7x64 -> 14x14x64',
      flops: mac(49, 576, 64),
      run: () => tf.conv2dTranspose(a7x64, wt1, [n, 14, 14, 64], 2, 'same'),
    },
    {
      name: 'BackpropInput decoder deconv2 14x14x64 -> 28x28x32',
      flops: mac(196, 288, 64),
      run: () => tf.conv2dTranspose(a14x64, wt2, [n, 28, 28, 32], 2, 'same'),
    },
    {
      name: 'BackpropInput decoder output 28x28x32 -> 28x28x1',
      flops: mac(784, 9, 32),
      run: () => tf.conv2dTranspose(a28x32, wt3, [n, 28, 28, 1], 1, 'same'),
    },
    {
      name: 'Conv2D        deconv2 input gradient 28x28x32 -> 14x14x64',
      flops: mac(196, 288, 64),
      run: () => tf.conv2d(a28x32, wt2, 2, 'same'),
    },
    {
      name: 'BackpropFilter deconv2 filter gradient',
      flops: mac(196, 288, 64),
      run: () => backpropFilter(a28x32, a14x64, [3, 3, 32, 64], 2),
    },
    {
      name: 'BackpropFilter conv2 filter gradient',
      flops: mac(49, 288, 64),
      run: () => backpropFilter(a14x32, a7x64, [3, 3, 32, 64], 2),
    },
    {
      name: 'BackpropFilter output filter gradient',
      flops: mac(784, 9, 32),
      run: () => backpropFilter(a28x1, a28x32, [3, 3, 1, 32], 1),
    },
    { name: 'BatchMatMul   coding 128x3136 . 3136x32', flops: 2 * n * 3136 * 32, run: () => tf.matMul(flat, wd1) },
    { name: 'BatchMatMul   decoder dense 128x32 . 32x3136', flops: 2 * n * 3136 * 32, run: () => tf.matMul(code, wd2) },
    {
      name: 'BatchMatMul   coding weight gradient 3136x128 . 128x32',
      flops: 2 * n * 3136 * 32,
      run: () => tf.matMul(flat, code, true, false),
    },
  ];
  return { cases, inputs: [x28, a14x32, a7x64, a14x64, a28x32, a28x1, w1, w2, wt1, wt2, wt3, flat, code, wd1, wd2] };
}

/** Milliseconds per run of `run`, over at least `budgetMilliseconds` after one to warm up. */
export function timeKernel(run: () => tf.Tensor, budgetMilliseconds: number): number {
  run().dispose();
  let count = 0;
  const start = performance.now();
  do {
    run().dispose();
    count += 1;
  } while (performance.now() - start < budgetMilliseconds);
  return (performance.now() - start) / count;
}
