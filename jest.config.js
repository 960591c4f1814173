/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/helpers/check-tools.js',
  setupFilesAfterEnv: ['<rootDir>/test/helpers/fuzz-seed.ts'],
  reporters: ['default', '<rootDir>/test/helpers/totals-reporter.js'],
};
