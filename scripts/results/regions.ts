// The generated regions of a Markdown file. A region is marked by two HTML comments, which Markdown does not show:
//   <!-- results:NAME -->...<!-- /results -->
// Its content is replaced by what the renderer of NAME makes from results/. A region whose opening marker ends its
// line is a block (a table, a paragraph); otherwise it is inline, a few words inside a sentence. A marker written as
// code (right after a backtick) is prose about markers, not one.
import { ResultsError } from './data.js';

const regionPattern = /(?<!`)<!-- results:([a-z0-9-]+) -->([\s\S]*?)(?<!`)<!-- \/results -->/g;

export interface Region {
  name: string;
  /** 1-based line of the opening marker. */
  line: number;
  changed: boolean;
}

/**
 * `text` with every region's content made by `render`; `file` names the file in errors. An unknown region name, a
 * marker left open, or a block's content in an inline region is refused.
 */
export function fillRegions(
  text: string,
  file: string,
  render: (name: string) => string,
): { text: string; regions: Region[] } {
  const regions: Region[] = [];
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  const filled = text.replace(regionPattern, (_whole: string, name: string, content: string, offset: number) => {
    const line = lineAt(offset);
    if (content.includes('<!-- results:')) {
      throw new ResultsError(`${file}:${line}: region ${name} is not closed before the next one opens`);
    }
    const block = content.startsWith('\n');
    let made: string;
    try {
      made = render(name).trim();
    } catch (error) {
      throw new ResultsError(
        `${file}:${line}: region ${name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!block && made.includes('\n')) {
      throw new ResultsError(`${file}:${line}: region ${name} is inline, but its content has several lines`);
    }
    const replacement = block ? `\n${made}\n` : made;
    regions.push({ name, line, changed: replacement !== content });
    return `<!-- results:${name} -->${replacement}<!-- /results -->`;
  });
  const outside = text.replace(regionPattern, (whole: string) => whole.replace(/[^\n]/g, ' '));
  const stray = outside.match(/(?<!`)<!-- \/?results(:[a-z0-9-]+)? -->/);
  if (stray?.index !== undefined) {
    throw new ResultsError(`${file}:${lineAt(stray.index)}: ${stray[0]} has no partner`);
  }
  return { text: filled, regions };
}
