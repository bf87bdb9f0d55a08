// Jest global teardown: removes the run's temporary directory (see spec/helpers/test-tmp.js).
'use strict';
const { tearDownRunTmp } = require('./helpers/test-tmp');

module.exports = async function globalTeardown() {
  tearDownRunTmp();
};
