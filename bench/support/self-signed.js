// A key and self-signed certificate for 127.0.0.1, for the https stand-in: made by openssl in a
// temporary directory, which is then removed. A machine without openssl gets the reason instead.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

/** { key, cert } (PEM), or { reason } when they cannot be made here. */
function selfSignedCertificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-bench-tls-'));
  try {
    const r = spawnSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', 'key.pem', '-out', 'cert.pem'],
      ],
      { cwd: dir, encoding: 'utf8', timeout: 30_000 },
    );
    if (r.status !== 0) return { reason: `openssl: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}` };
    return { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { selfSignedCertificate };
