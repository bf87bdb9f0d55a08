/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    '/node_modules/@noble/.+\\.js$': '<rootDir>/spec/helpers/esm-to-cjs-transform.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!@noble/)'],
  // Rebuilds dist/ first when it was not built from the current sources: tests spawn bin/chutes-rpc.
  globalSetup: '<rootDir>/spec/global-setup.js',
  // Removes the run's temporary directory, where every test's temporary files go (spec/helpers/test-tmp.js).
  globalTeardown: '<rootDir>/spec/global-teardown.js',
  testTimeout: 20000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/spec/helpers/summary-reporter.js'],
};
