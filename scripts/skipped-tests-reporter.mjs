// A node:test reporter that writes one JSON line per skipped test or suite ({ file, name, reason }) and nothing else,
// for scripts/test.mjs to check against its allow-list. The spec reporter beside it shows the run as usual.
export default async function* skippedTests(source) {
  for await (const event of source) {
    if ((event.type !== 'test:pass' && event.type !== 'test:fail') || event.data.skip === undefined) continue;
    const reason = typeof event.data.skip === 'string' ? event.data.skip : '';
    yield `${JSON.stringify({ file: event.data.file ?? '', name: event.data.name, reason })}\n`;
  }
}
