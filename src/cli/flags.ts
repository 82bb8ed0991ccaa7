// Parsers for the flags' values, shared by the commands: numbers within their range from the config's table of
// limits (which --help shows), and paths that name something. Each refusal is one line naming the flag and the value.
import { InvalidArgumentError, Option } from 'commander';

import { describeLimit, withinLimit } from '../config.js';
import type { Limit } from '../config.js';
import { quote } from '../quote.js';

const wholeNumber = /^\d+$/;
const decimalNumber = /^(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

/** A parser for a flag's number within `limit`: digits only (no hex, no exponent for whole numbers, no sign). */
export const numberIn =
  (flag: string, limit: Limit) =>
  (value: string): number => {
    const text = value.trim();
    const parsed = (limit.whole ? wholeNumber : decimalNumber).test(text) ? Number(text) : Number.NaN;
    if (!withinLimit(parsed, limit))
      throw new InvalidArgumentError(`${flag} takes ${describeLimit(limit)}, got ${quote(value)}`);
    return parsed;
  };

/** A numeric option: `--epochs <n>`, its help ending with its range, its value parsed and checked by numberIn. */
export function numberOption(flags: string, description: string, limit: Limit): Option {
  const flag = flags.split(/[ ,]/)[0] ?? flags;
  return new Option(flags, `${description} (${limit.min} to ${limit.max})`).argParser(numberIn(flag, limit));
}

/** A parser for a path flag or argument: not empty, since '' would quietly mean the current folder. */
export const pathIn =
  (flag: string) =>
  (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${flag} needs a path, got ${quote(value)}`);
    return value;
  };
