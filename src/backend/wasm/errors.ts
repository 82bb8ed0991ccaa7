/**
 * Raised when one of our wasm kernels is asked for something it does not implement
 * (an attribute value, a dtype, a layout). The message names the kernel, the attribute,
 * the value it got and what to do instead.
 */
export class UnsupportedKernelAttributeError extends Error {
  override readonly name = 'UnsupportedKernelAttributeError';

  constructor(
    readonly kernelName: string,
    readonly attribute: string,
    readonly value: unknown,
    hint: string,
  ) {
    super(`Error in wasm kernel ${kernelName}: ${attribute}=${JSON.stringify(value)} is not supported. ${hint}`);
  }
}
