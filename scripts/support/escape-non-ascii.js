// Makes a bundle ASCII, so that it can be read as latin1 (a one-byte string, no UTF-8 decoding):
// esbuild's charset 'ascii' escapes non-ASCII characters everywhere but in regular expression
// literals and comments, where \uXXXX means the same (or nothing).
'use strict';
const fs = require('node:fs');

function escapeNonAscii(file) {
  const text = fs.readFileSync(file, 'utf8');
  const ascii = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (ascii !== text) fs.writeFileSync(file, ascii);
}

module.exports = { escapeNonAscii };
