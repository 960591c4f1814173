// Stryker (mutation testing) over one source folder at a time; bench/mutation.sh drives it.
// Not part of CI: a run takes from minutes (src/oci) to hours (all six folders) on 2 cores.
//
// The tests it runs are the ones that import src/ in-process. Tests that run the CLI bundle
// (dist/lean/berth.cjs) in a child process cannot see an instrumented src/ file, so a mutant
// that only those tests would kill counts here as survived or not covered: the score is a
// floor for what the whole suite holds.
const folder = process.env.BERTH_MUTATE ?? 'src/oci';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  plugins: ['@stryker-mutator/jest-runner', './bench/stryker-dynamic-import.mjs'],
  ignorers: ['dynamic-import'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    // Only the in-process test files; findRelatedTests then picks those importing the mutated file.
    config: {
      reporters: ['default'],
      testMatch: [
        '<rootDir>/test/oci/**/*.test.ts',
        '<rootDir>/test/blob/**/*.test.ts',
        '<rootDir>/test/util/**/*.test.ts',
        '<rootDir>/test/release/plan.test.ts',
        '<rootDir>/test/registry/unit.test.ts',
        // Each of these starts a registry and takes seconds: over src/registry's ~1,000 mutants
        // that is hours. BERTH_MUTATE_QUICK=1 leaves it out (a lower floor, in minutes).
        ...(process.env.BERTH_MUTATE_QUICK ? [] : ['<rootDir>/test/registry/faults.test.ts']),
        '<rootDir>/test/sign/format.test.ts',
        '<rootDir>/test/sign/cosign-vectors.test.ts',
        '<rootDir>/test/tags/{spec,compute,semver}.test.ts',
        // src/dockerfile, src/builder, src/folders: the tests that import them in-process. Left out:
        // the engine tests that run buildah or start dockerd per test (test/builder/engines/
        // buildah.test.ts, docker.test.ts), the step executor's (test/builder/steps/steps.test.ts),
        // test/builder/dockerfile.test.ts, test/builder/build-image.test.ts, test/folders/load-local.test.ts and the seed and CLI tests
        // (they run the bundle only, so no mutant counts as reached by them).
        '<rootDir>/test/dockerfile/**/*.test.ts',
        '<rootDir>/test/builder/{add-url,copy-instruction,native,rootfs,dockerfile-build,emulation,context-walk}.test.ts',
        '<rootDir>/test/builder/engines/{normalize,choose,rewrite-contexts,run-tool,steps}.test.ts',
        '<rootDir>/test/builder/steps/rootfs-dir.test.ts',
        '<rootDir>/test/folders/{plan-parts,held-classes,job-type,plan}.test.ts',
        '<rootDir>/test/e2e/hostile/smaller.test.ts',
        // These start a registry once per file (a second or two per mutant run that reaches
        // them): BERTH_MUTATE_QUICK=1 leaves them out too.
        ...(process.env.BERTH_MUTATE_QUICK
          ? []
          : ['<rootDir>/test/folders/{presence-unit,publish-unit,presence-publish,image-source-pick}.test.ts']),
      ],
    },
    enableFindRelatedTests: true,
  },
  // BERTH_MUTATE_ONLY='glob glob' mutates only those files of the folder (a partial run: say so with its score).
  mutate: process.env.BERTH_MUTATE_ONLY ? process.env.BERTH_MUTATE_ONLY.split(/\s+/).filter(Boolean) : [`${folder}/**/*.ts`],
  // Some in-process tests also start node on dist/ (the compiled modules); build it from the
  // instrumented sources, so a child process sees the active mutant too (it reads the
  // __STRYKER_ACTIVE_MUTANT__ variable the jest runner sets).
  buildCommand: 'node hack/build.mjs',
  // Static mutants (module-level constants) need a fresh module registry per mutant: too slow here.
  ignoreStatic: true,
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 5000, // on top of the test's own time (x1.5): a mutant that loops costs this much
  tempDirName: `out/stryker-tmp-${folder.replaceAll('/', '-')}`, // one per folder: runs may overlap
  cleanTempDir: 'always',
  // A re-run after adding tests retests only the mutants whose code or covering tests changed
  // (bench/mutation.sh's FORCE=1 retests all).
  incremental: true,
  incrementalFile: `out/mutation/${folder.replaceAll('/', '-')}.incremental.json`,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `out/mutation/${folder.replaceAll('/', '-')}.json` },
  htmlReporter: { fileName: `out/mutation/${folder.replaceAll('/', '-')}.html` },
  // The seed fixtures hold symlinked folders (merged /usr) Stryker cannot copy; no in-process test reads them.
  ignorePatterns: ['out', 'dist', 'bazel-*', '.git', 'test/fixtures/gvisor', 'test/fixtures/microshift'],
};
