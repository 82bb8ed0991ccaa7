// The peers `npm run bench` measures against, in one table: each is a script in ../shared/peers with the same CLI
// (--model autoencoder|classifier --seconds S) that trains the same network at batch 128, prints one JSON line and
// exits 3 when its framework cannot be had. Each tries two ways to run and reports the faster one.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type Model = 'autoencoder' | 'classifier';

/** What every peer's JSON line holds, and what each adds to say which of its ways to run was the faster. */
interface PeerLine {
  name: string;
  imagesPerSecond: number;
  memoryFormat?: string;
  blas?: string;
  jit?: string;
}

export const peerKinds = [
  {
    key: 'torch',
    flag: 'torch-peer',
    script: 'torch-peer',
    framework: 'PyTorch',
    // torch_ae_bench.py takes the batch size; keras_bench.py has it fixed at 128.
    extraArguments: (batch: number) => ['--batch', String(batch)],
    fasterWay: (line: PeerLine) => line.memoryFormat ?? '',
  },
  {
    key: 'keras',
    flag: 'keras-peer',
    script: 'keras-peer',
    framework: 'Keras 3 on TensorFlow',
    extraArguments: () => [],
    fasterWay: (line: PeerLine) => `XLA ${line.jit ?? ''}`,
  },
] as const;
export type PeerKey = (typeof peerKinds)[number]['key'];
export type PeerKind = (typeof peerKinds)[number];

export interface PeerMeasurement {
  name: string;
  imagesPerSecond: number;
  /** The faster of its two ways to run: a memory format (PyTorch), XLA on or off (Keras). */
  fasterWay: string;
  blas: string | null;
}

/** One measurement of `model` by the peer script at `path`, lasting `seconds` for each of its two ways, or why not. */
export function runPeer(
  kind: PeerKind,
  path: string,
  model: Model,
  seconds: number,
  batch: number,
): PeerMeasurement | { unavailable: string } {
  if (path === 'none') return { unavailable: `--${kind.flag} none` };
  if (!existsSync(path)) return { unavailable: `${path} does not exist` };
  // The peer splits its time between its two ways to run and reports the faster: give each the full time.
  const result = spawnSync(path, ['--model', model, '--seconds', String(2 * seconds), ...kind.extraArguments(batch)], {
    encoding: 'utf8',
  });
  const lastLine = (text: string | null) => text?.trim().split('\n').pop() ?? '';
  // What went wrong, in the peer's own last words when it left any.
  const why = result.error?.message ?? lastLine(result.stderr);
  const said = why === '' ? '' : `: ${why}`;
  if (result.status === 3)
    return { unavailable: `no ${kind.framework} could be installed or found (${kind.script} exit 3${said})` };
  const line = lastLine(result.stdout);
  if (result.status !== 0 || !line.startsWith('{'))
    return { unavailable: `${kind.script} failed (exit ${result.status ?? result.signal ?? 'unknown'})${said}` };
  const parsed = JSON.parse(line) as PeerLine;
  return {
    name: parsed.name,
    imagesPerSecond: parsed.imagesPerSecond,
    fasterWay: kind.fasterWay(parsed),
    blas: parsed.blas ?? null,
  };
}
