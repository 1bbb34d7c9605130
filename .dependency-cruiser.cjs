// The layering rule, checked by `npm run lint` (docs/explanation/architecture.md draws it):
//   kernel ← auth ← web, http, ops ← features ← app (src/*.ts) and cli
// Imports only point down (or sideways inside a layer); nothing imports in a cycle, type-only
// imports included; a feature reads another feature's data through its service, never its
// repository. When a lower layer must react to a higher one, the higher one subscribes to an
// event (src/kernel/events.ts) or is handed down by the wiring (src/wiring.ts).
const KERNEL = '^src/kernel/';
const AUTH = '^src/auth/';
const GLUE = '^src/(web|http|ops)/';
const FEATURES = '^src/(users|emails|tokens|audit|mail|oauth|account|signup|two-factor|registry|transfer|openapi)/';
const APP = '^src/([^/]+\\.ts|cli/)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle (type-only imports count): break it with an event, an interface in a lower layer, or by moving the shared part down.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'kernel-imports-only-kernel',
      severity: 'error',
      comment: 'src/kernel is the bottom layer: config, errors, clock, crypto, deps, events and the store.',
      from: { path: KERNEL },
      to: { path: '^src/', pathNot: KERNEL },
    },
    {
      name: 'auth-imports-only-kernel',
      severity: 'error',
      comment: 'The sign-in core knows no feature: features hand it their token verifiers (src/wiring.ts).',
      from: { path: AUTH },
      to: { path: '^src/', pathNot: `${KERNEL}|${AUTH}` },
    },
    {
      name: 'glue-imports-no-feature',
      severity: 'error',
      comment: 'The web layer, the API glue and ops serve every feature and import none.',
      from: { path: GLUE },
      to: { path: `${FEATURES}|${APP}` },
    },
    {
      name: 'features-do-not-import-the-app',
      severity: 'error',
      comment: 'Features are wired by src/app.ts, src/wiring.ts and the CLI, never the other way round.',
      from: { path: FEATURES },
      to: { path: APP },
    },
    {
      name: 'no-other-features-repository',
      severity: 'error',
      comment: "A feature reads another feature's data through that feature's service.",
      from: { path: '^src/([^/]+)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/[^/]+/.*\\.repository\\.ts$', pathNot: ['^src/$1/', '^src/kernel/'] },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment: 'Every folder of src/ belongs to a layer: add a new one to the lists above.',
      from: { path: '^src/[^/]+/', pathNot: `${KERNEL}|${AUTH}|${GLUE}|${FEATURES}|${APP}` },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a cycle through `import type` is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|test|bench)/' },
  },
};
