// Parsers for numeric flags, shared by the commands.
import { InvalidArgumentError } from 'commander';

/** A whole-number flag ≥ `minimum` (and ≤ `maximum`), refused in one line naming the flag and the value. */
export const integer =
  (flag: string, minimum: number, maximum = Number.MAX_SAFE_INTEGER) =>
  (value: string) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < minimum || parsed > maximum) {
      const range = maximum === Number.MAX_SAFE_INTEGER ? `≥ ${minimum}` : `from ${minimum} to ${maximum}`;
      throw new InvalidArgumentError(`${flag} takes a whole number ${range}, got '${value}'`);
    }
    return parsed;
  };
