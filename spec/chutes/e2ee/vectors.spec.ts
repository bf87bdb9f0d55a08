import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { mlKem768 } from '../../../lib/chutes/e2ee/ml-kem';
import { deriveKey, open, seal } from '../../../lib/chutes/e2ee/primitives';
import { sealRequest } from '../../../lib/chutes/e2ee/sealed-request';
import { openRequest } from '../../helpers/e2ee-instance';
import { ROOT } from '../../helpers/rpc-process';

// The deterministic vectors of the spec (§1.12), cross-checked between noble and pyca/cryptography.
// Read where CI keeps them beside the clone; never copied into the repository.
const FILE = path.join(ROOT, '..', 'shared', 'e2ee-vectors', 'vectors.json');
const present = fs.existsSync(FILE);
const d = present ? (JSON.parse(fs.readFileSync(FILE, 'utf8')) as Record<string, string>) : {};
const hex = (s: string) => Buffer.from(s, 'hex');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// A missing file skips, with the reason in the name jest prints.
(present ? describe : describe.skip)(
  present ? 'E2EE test vectors (vectors.json)' : `E2EE test vectors: SKIPPED, ${FILE} is missing`,
  () => {
    const kem = mlKem768();
    const server = kem.keygen(hex(d.server_seed!));
    const client = kem.keygen(hex(d.client_seed!));

    it('derives the keypairs from their seeds', () => {
      expect(sha(server.publicKey)).toBe(d.server_pk_sha256);
      expect(Buffer.from(server.publicKey).toString('base64')).toHaveLength(Number(d.server_pk_b64_len));
      expect(sha(Buffer.from(Buffer.from(server.publicKey).toString('base64')))).toBe(d.server_pk_b64_sha256_of_string);
      expect(sha(client.publicKey)).toBe(d.client_pk_sha256);
      expect(sha(client.secretKey)).toBe(d.client_sk_sha256);
    });

    it('V1 request: encapsulation, salt, e2e-req-v1 key, and the AEAD seal and open', () => {
      const { cipherText, sharedSecret } = kem.encapsulate(server.publicKey, hex(d.v1_m!));
      expect(sha(cipherText)).toBe(d.v1_ct_sha256);
      expect(Buffer.from(cipherText.subarray(0, 16)).toString('hex')).toBe(d.v1_ct_first16_salt);
      expect(Buffer.from(sharedSecret).toString('hex')).toBe(d.v1_ss);
      const key = deriveKey(sharedSecret, cipherText, 'request');
      expect(key.toString('hex')).toBe(d.v1_key_req);
      const sealed = seal(key, hex(d.v1_aead_pt!), hex(d.v1_nonce!));
      expect(sealed.subarray(12).toString('hex')).toBe(d.v1_aead_ct_tag);
      expect(open(key, sealed).toString('hex')).toBe(d.v1_aead_pt);
      // sealRequest with the same inputs puts the same KEM ciphertext first, and the instance opens it.
      const { blob } = sealRequest({ model: 'm' }, server.publicKey, {
        encapsulation: hex(d.v1_m!),
        responseKeySeed: hex(d.client_seed!),
        aeadNonce: hex(d.v1_nonce!),
      });
      expect(sha(blob.subarray(0, 1088))).toBe(d.v1_ct_sha256);
      expect(blob.subarray(1088, 1100).toString('hex')).toBe(d.v1_nonce);
      const opened = openRequest(blob, server.secretKey);
      expect(opened.body).toEqual({ model: 'm' });
      expect(sha(opened.responseKey)).toBe(d.client_pk_sha256);
    });

    it('V2 response and V3 stream keys, and the stream frame', () => {
      const v2 = kem.encapsulate(client.publicKey, hex(d.v2_m!));
      expect(sha(v2.cipherText)).toBe(d.v2_ct_sha256);
      expect(Buffer.from(kem.decapsulate(v2.cipherText, client.secretKey)).toString('hex')).toBe(d.v2_ss);
      expect(deriveKey(v2.sharedSecret, v2.cipherText, 'response').toString('hex')).toBe(d.v2_key_resp);
      const v3 = kem.encapsulate(client.publicKey, hex(d.v3_m!));
      expect(sha(v3.cipherText)).toBe(d.v3_ct_sha256);
      expect(Buffer.from(v3.sharedSecret).toString('hex')).toBe(d.v3_ss);
      const key = deriveKey(v3.sharedSecret, v3.cipherText, 'stream');
      expect(key.toString('hex')).toBe(d.v3_key_stream);
      const frame = Buffer.from(d.v3_frame_b64!, 'base64');
      // The file writes the frame's newline escaped ("data: [DONE]\\n"); the frame holds a real one (13 bytes).
      const plaintext = d.v3_frame_plaintext!.replace(/\\n/g, '\n');
      expect(open(key, frame).toString('utf8')).toBe(plaintext);
      expect(seal(key, Buffer.from(plaintext), hex(d.v3_frame_nonce!)).toString('base64')).toBe(d.v3_frame_b64);
      const bad = Buffer.from(frame);
      bad[20]! ^= 1;
      expect(() => open(key, bad)).toThrow('tag does not verify');
    });
  },
);
