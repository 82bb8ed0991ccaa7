// Data-movement helpers over plain typed arrays.

/** out[cols, rows] = transpose of a[rows, cols], in cache-sized tiles. */
export function transpose2dImpl(a: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const r1 = Math.min(r0 + tile, rows);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      const c1 = Math.min(c0 + tile, cols);
      for (let r = r0; r < r1; r++) {
        const rowBase = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = a[rowBase + c] as number;
      }
    }
  }
}
