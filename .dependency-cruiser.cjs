// `npm run deps`: the import graph of src/, test/ and bench/ (type-only imports included) against the
// rules below. Any rule with severity 'error' fails the run (and so `npm test`).
//
// Layers, lowest first. A module may import its own layer and the layers below it, never one above:
//   util < core < net < probers < config < engine < {maintenance, discovery} < incidents < {metrics, report, alerting} < server < {daemon, cli}
// util and core are leaf helpers and shared vocabulary (core may import util). metrics, report and
// alerting share a rank and must not import one another; so do maintenance and discovery (each drives
// the engine, and the views above read their state). src/core/ need not exist yet.

/** @type {Array<[name: string, path: string]>} lowest first; entries of one rank share an array slot */
const ranks = [
  [['util', '^src/util/']],
  [['core', '^src/core/']],
  [['net', '^src/net/']],
  [['probers', '^src/probers/']],
  [['config', '^src/config/']],
  [['engine', '^src/engine/']],
  [
    ['maintenance', '^src/maintenance/'],
    ['discovery', '^src/discovery/'],
  ],
  [['incidents', '^src/incidents/']],
  [
    ['metrics', '^src/metrics/'],
    ['report', '^src/report/'],
    ['alerting', '^src/alerting/'],
  ],
  [['server', '^src/server/']],
  [['top', '^src/(daemon|cli|maintenanceCli|incidentsCli|daemonClient)\\.ts$']],
];
const anyOf = (paths) => `(${paths.join('|')})`;
const layered = anyOf(ranks.flat().map(([, path]) => path));

const upward = ranks.flatMap((rank, i) => {
  const higher = ranks.slice(i + 1).flat();
  if (higher.length === 0) return [];
  return rank.map(([name, path]) => ({
    name: `layer-${name}-imports-upward`,
    comment: `${path} may import only its own layer and lower ones, not ${higher.map(([n]) => n).join(', ')}.`,
    severity: 'error',
    from: { path },
    to: { path: anyOf(higher.map(([, p]) => p)) },
  }));
});

const sideways = ranks
  .filter((rank) => rank.length > 1)
  .flatMap((rank) =>
    rank.map(([name, path]) => ({
      name: `layer-${name}-imports-sideways`,
      comment: `${rank.map(([n]) => n).join(', ')} are one rank: ${name} must not import the others (move what they share down a layer).`,
      severity: 'error',
      from: { path },
      to: { path: anyOf(rank.filter(([n]) => n !== name).map(([, p]) => p)) },
    })),
  );

// Inside src/probers/: one file per probe kind, plus shared pieces that kinds build on. A kind file
// may import only the shared pieces, never another kind (what two kinds share moves to a shared file).
const proberShared = '^src/probers/(types|reasons|define|common|expect|docker|[a-z][A-Za-z0-9]*Api)\\.ts$';
const proberIndex = '^src/probers/index\\.ts$';
const proberKind = { path: '^src/probers/[^/]+\\.ts$', pathNot: anyOf([proberShared, proberIndex]) };

// Alertmanager's API is spoken in one module (its paths, JSON shapes, routing and hints). The kinds
// read it, and the two parts of the daemon that write to Alertmanager (the direct alert path, the
// maintenance silences) call it instead of speaking HTTP to it themselves. What the module's text
// holds cannot be a rule here: test/probers/alertmanager-room.test.ts looks for its paths elsewhere.
const alertmanagerApi = '^src/probers/alertmanagerApi\\.ts$';

// One module reads each outside format; the library it wraps is imported there and nowhere else.
const soleImporters = [
  ['protobuf', 'src/util/protobuf.ts', '@bufbuild/protobuf', 'read and write messages through it (WireMessage, ProtoWriter)'],
  ['promql-grammar', 'src/util/promql.ts', '@prometheus-io/lezer-promql', 'ask it for selectors, label matchers and aggregations (readPromql)'],
].map(([name, module, pkg, how]) => ({
  name: `${name}-outside-its-module`,
  comment: `Only ${module} imports ${pkg}: ${how}.`,
  severity: 'error',
  from: { pathNot: `^${module.replace(/\./g, '\\.')}$` },
  to: { path: `(^|/)node_modules/${pkg}/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle in src/ (type-only imports count: they tie the modules together just the same).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    ...sideways,
    {
      name: 'src-not-in-a-layer',
      comment: 'Every module of src/ belongs to a layer: add its folder to the ranks in .dependency-cruiser.cjs.',
      severity: 'error',
      from: { path: '^src/', pathNot: layered },
      to: {},
    },
    {
      name: 'src-imports-src-not-in-a-layer',
      comment: 'Every module of src/ belongs to a layer: add its folder to the ranks in .dependency-cruiser.cjs.',
      severity: 'error',
      from: {},
      to: { path: '^src/', pathNot: layered },
    },
    {
      name: 'prober-kind-imports-other-kind',
      comment:
        'A probe kind imports only the shared prober files (types.ts, define.ts, common.ts, expect.ts, docker.ts, *Api.ts), ' +
        'not another kind or the registry: move what two kinds share into one of those.',
      severity: 'error',
      from: proberKind,
      to: { path: '^src/probers/', pathNot: proberShared },
    },
    {
      name: 'prober-shared-imports-kind',
      comment: 'The shared prober files are below the kinds: they must not import a kind or the registry.',
      severity: 'error',
      from: { path: proberShared },
      to: { path: '^src/probers/', pathNot: proberShared },
    },
    {
      name: 'probers-internals-from-outside',
      comment:
        "Outside src/probers/, use the probers through index.ts (the registry), types.ts (the contract) and reasons.ts (the framework's reasons) only, " +
        'and Alertmanager through alertmanagerApi.ts; ' +
        'a helper needed elsewhere belongs in src/util/ or src/core/.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/probers/' },
      to: { path: '^src/probers/', pathNot: anyOf(['^src/probers/(index|types|reasons)\\.ts$', alertmanagerApi]) },
    },
    {
      name: 'alertmanager-api-from-outside',
      comment: 'Outside src/probers/, only src/alerting/ and src/maintenance/ talk to Alertmanager (through src/probers/alertmanagerApi.ts).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(probers|alerting|maintenance)/' },
      to: { path: alertmanagerApi },
    },
    {
      name: 'alertmanager-api-imports-prober',
      comment:
        'src/probers/alertmanagerApi.ts imports no prober, only the contract (types.ts) and the shared outcome helpers (common.ts): ' +
        'alerting/ and maintenance/ import it, and must not pull a kind in through it.',
      severity: 'error',
      from: { path: alertmanagerApi },
      to: { path: '^src/probers/', pathNot: '^src/probers/(types|common)\\.ts$' },
    },
    {
      name: 'discovery-internals-from-views',
      comment: 'The views (metrics, report, server, alerting) read discovery through src/discovery/state.ts (DiscoveryState) only; ' + 'only the process (daemon, cli) builds and drives a Discovery.',
      severity: 'error',
      from: { path: '^src/(metrics|report|server|alerting)/' },
      to: { path: '^src/discovery/', pathNot: '^src/discovery/state\\.ts$' },
    },
    ...soleImporters,
    {
      name: 'src-imports-test-or-bench',
      comment: 'Shipped code must not depend on the tests or the benchmarks (neither is in the image).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'imports-outside-the-repo',
      comment: 'Nothing imports from outside the repository (such as ../shared): a clone must build on its own.',
      severity: 'error',
      from: {},
      to: { path: '^\\.\\./', pathNot: '(^|/)node_modules/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing (a missing file or an undeclared package).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'src-imports-dev-dependency',
      comment: 'The image installs with --omit=dev: src/ may use devDependencies for types only (@types/*).',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '^node_modules/@types/' },
    },
    {
      name: 'no-non-package-json',
      comment: 'A package that package.json does not declare (it is only there as some dependency of a dependency).',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage|\\.test-tmp|bench/\\.build|bench/results)/' },
    // Keep `import type` edges: without this they vanish with the TypeScript-to-JavaScript step.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
