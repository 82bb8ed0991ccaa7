// What two runs of one seed must share: metrics.json without its wall-clock fields and the classifier worker
// count (results are the same bit for bit however many runs trained at once).
const executionKeys = new Set(['seconds', 'trainSeconds', 'totalSeconds', 'classifierWorkers']);

export function comparableMetrics(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparableMetrics);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => !executionKeys.has(key))
        .map(([key, inner]) => [key, comparableMetrics(inner)]),
    );
  }
  return value;
}
