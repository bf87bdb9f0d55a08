import * as crypto from 'node:crypto';
import { sha256Hex } from '../../lib/util/sha256';

describe('sha256Hex', () => {
  // The fingerprints in pacing.json were node:crypto's: the same text must give the same key.
  it.each(['', 'chutes-rpc pacing\0token:cpk_test.placeholder', 'ключ 🔑', 'x'.repeat(1000)])(
    'is the SHA-256 node:crypto computes, over the UTF-8 bytes (%#)',
    (text) => {
      expect(sha256Hex(text)).toBe(crypto.createHash('sha256').update(text).digest('hex'));
    },
  );
});
