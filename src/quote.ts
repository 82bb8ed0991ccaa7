// How a value from the user or from a file is shown inside an error message: on one line, whatever bytes it holds,
// and short, however long it is. A 100,000-character flag or the binary bytes of a broken dataset.json would
// otherwise be echoed whole, over as many lines as they hold newlines. Every message that quotes such a value goes
// through here; the CLI passes each whole message through oneLine as a last guard.

/**
 * Characters shown as escapes: C0 and C1 controls, DEL, the line and paragraph separators, and the marks that reorder
 * text on a terminal (bidirectional overrides and isolates), which could make a message read as something else.
 */
// eslint-disable-next-line no-control-regex
const unprintable = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
const namedEscapes: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(character: string): string {
  const code = character.charCodeAt(0);
  return (
    namedEscapes[character] ?? (code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`)
  );
}

/** `text` cut in the middle to `maxLength` characters with an ellipsis, and escaped; `length` when it was cut. */
function shortened(text: string, maxLength: number): { shown: string; length?: number } {
  const characters = [...text];
  if (characters.length <= maxLength) return { shown: text.replace(unprintable, escape) };
  const head = Math.ceil((maxLength - 1) / 2);
  const tail = maxLength - 1 - head;
  const cut = `${characters.slice(0, head).join('')}…${characters.slice(characters.length - tail).join('')}`;
  return { shown: cut.replace(unprintable, escape), length: characters.length };
}

const lengthNote = (length: number | undefined) =>
  length === undefined ? '' : ` (${length.toLocaleString('en-US')} characters)`;

/**
 * `text` with its control characters escaped (`\n`, `\x1b`) and, when longer than `maxLength` characters, cut in the
 * middle with an ellipsis, its start and end kept (for a path, its folder and file name), and its length noted. For
 * paths, and for the messages of other errors quoted inside ours.
 */
export function printable(text: string, maxLength = 200): string {
  const { shown, length } = shortened(text, maxLength);
  return `${shown}${lengthNote(length)}`;
}

/**
 * A value as an error message quotes it, escaped and cut as `printable` does to `maxLength` characters: a string in
 * single quotes (`'value'`), a number as it is (`7`, `NaN`), anything else (a field of a JSON file) as its JSON
 * (`null`, `["a"]`), so that the string "7" and the number 7 read differently.
 */
export function quote(value: unknown, maxLength = 60): string {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return printable(safeJson(value) ?? String(value), maxLength);
  const { shown, length } = shortened(value, maxLength);
  return `'${shown}'${lengthNote(length)}`;
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/** A whole message on one line: line breaks inside it become spaces, other controls escapes, and it is capped. */
export function oneLine(message: string, maxLength = 2000): string {
  return printable(message.trim().replace(/\s*[\r\n]+\s*/g, ' '), maxLength);
}
