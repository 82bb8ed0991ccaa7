// The layout's rules, checked by `npm run lint`: no import circles, and imports point down the pipeline only.
// Each entry is a floor; a file may import from its own floor and the floors listed before it, never after.
const floors = [
  ['quote.ts'],
  ['backend', 'viz'],
  ['data'],
  ['model'],
  ['train'],
  ['eval'],
  ['config.ts'],
  ['io'],
  ['report', 'export'],
  ['study'],
  ['grid', 'serve'],
  ['queue'],
  ['cli'],
  ['index.ts'],
];
const pathOf = (parts) => `^src/(${parts.map((part) => part.replace('.', '\\.')).join('|')})($|/)`;

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'files that import each other cannot be read one after the other',
      from: {},
      to: { circular: true },
    },
    ...floors.slice(0, -1).map((floor, index) => ({
      name: `${floor.join('-').replace('.ts', '')}-imports-down`,
      severity: 'error',
      comment: `${floor.join(' and ')} may import only from itself and the floors below it`,
      from: { path: pathOf(floor) },
      to: { path: pathOf(floors.slice(index + 1).flat()) },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|web/dist)' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
