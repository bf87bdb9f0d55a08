import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { decryptStream } from '../../../lib/chutes/e2ee/decrypt-stream';
import { sealRequest } from '../../../lib/chutes/e2ee/sealed-request';
import { openResponse } from '../../../lib/chutes/e2ee/sealed-response';
import { instanceKeys } from '../../helpers/e2ee-instance';
import { ROOT } from '../../helpers/rpc-process';

// Interoperability with an independent implementation: pyca/cryptography (OpenSSL's ML-KEM) plays
// the instance. Skipped, with the reason in the name, where python3 or its ML-KEM is missing.
const SCRIPT = path.join(ROOT, 'spec', 'e2ee-oracle', 'instance_side.py');
const probe = spawnSync('python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric import mlkem; mlkem.MLKEM768PrivateKey'], {
  encoding: 'utf8',
});
const missing = probe.error
  ? `python3 cannot run (${probe.error.message})`
  : probe.status !== 0
    ? 'python3 has no cryptography with ML-KEM'
    : undefined;

(missing ? describe.skip : describe)(
  missing ? `E2EE against pyca/cryptography: SKIPPED, ${missing}` : 'E2EE against pyca/cryptography',
  () => {
    it('the Python instance opens our request, and we open its answer and its stream', async () => {
      const seed = Buffer.alloc(64, 0x42);
      const ours = instanceKeys(0x42).publicKey;
      const prompt = 'Ünïcödé ✓ from Node';
      const { blob, responseSecretKey } = sealRequest(
        { model: 'acme/M', messages: [{ role: 'user', content: prompt }], stream: true },
        ours,
      );
      const run = spawnSync('python3', [SCRIPT], {
        input: JSON.stringify({ seed: seed.toString('hex'), blob: blob.toString('base64') }),
        encoding: 'utf8',
      });
      expect(run.stderr).toBe('');
      const out = JSON.parse(run.stdout) as { public_key: string; body: any; response_blob: string; stream: object[] };
      // The same seed gives byte-identical keys in noble and OpenSSL.
      expect(out.public_key).toBe(Buffer.from(ours).toString('base64'));
      expect(out.body).toEqual({ model: 'acme/M', messages: [{ role: 'user', content: prompt }], stream: true });

      const completion = JSON.parse(openResponse(Buffer.from(out.response_blob, 'base64'), responseSecretKey).toString('utf8'));
      expect(completion.choices[0].message.content).toBe(`echo: ${prompt}`);

      const sse = out.stream.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('');
      let plain = '';
      for await (const bytes of decryptStream(Readable.from([Buffer.from(sse)]), responseSecretKey)) plain += bytes.toString('utf8');
      const chunk = JSON.parse(plain.split('\n')[0]!.slice('data: '.length));
      expect(chunk.choices[0].delta.content).toBe(`echo: ${prompt}`);
      expect(plain.endsWith('data: [DONE]\n\n')).toBe(true);
    });
  },
);
