// Parsers for numeric flags, shared by the commands.
import { InvalidArgumentError } from 'commander';

/** A whole-number flag ≥ `minimum`, refused in one line naming the flag and the value. */
export const integer = (flag: string, minimum: number) => (value: string) => {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < minimum) {
    throw new InvalidArgumentError(`${flag} takes a whole number ≥ ${minimum}, got '${value}'`);
  }
  return parsed;
};
