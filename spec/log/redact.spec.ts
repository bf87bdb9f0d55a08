import { Logger } from '../../lib/log/logger';
import { addSecret, redact, redactValue } from '../../lib/log/redact';

describe('redaction', () => {
  it('masks anything shaped like a Chutes key, token or secret', () => {
    expect(redact('key cpk_abc123.def-XYZ and cak_tok, crt_ref; csc_sec')).toBe(
      'key cpk_[redacted] and cak_[redacted], crt_[redacted]; csc_[redacted]',
    );
    expect(redact('Authorization: Bearer sk-abcdefghijkl')).toBe('Authorization: Bearer [redacted]');
  });

  it('masks Bearer and Basic values in any letter case, and leaves text with none of the patterns as it is', () => {
    expect(redact('authorization: BEARER sk-abcdefghijkl')).toBe('authorization: BEARER [redacted]');
    expect(redact('basic dXNlcjpwYXNzd29yZA==')).toBe('basic [redacted]');
    const plain = 'zai-org/GLM-4.7-Flash stop 42';
    expect(redact(plain)).toBe(plain);
  });

  it('masks every encoded form of a secret registered more than once', () => {
    addSecret('cpk_twice.registered-key');
    addSecret('cpk_twice.registered-key');
    const b64 = Buffer.from('cpk_twice.registered-key').toString('base64').replace(/=+$/, '');
    expect(redact(`x ${b64} twice.registered-key`)).toBe('x [redacted] [redacted]');
  });

  it('masks registered secret values of any shape, inside nested values too', () => {
    addSecret('plain-secret-42');
    expect(redactValue({ a: ['x plain-secret-42 y'], n: 1 })).toEqual({ a: ['x [redacted] y'], n: 1 });
  });

  it('logs to its sink by level, redacted, and forwards to a host only when asked', () => {
    const lines: string[] = [];
    const forwarded: string[] = [];
    const log = new Logger((l) => lines.push(l));
    log.setLevel('warn');
    log.info('hidden');
    log.warn('shown cpk_secretvalue');
    expect(lines).toEqual(['chutes-rpc warn: shown cpk_[redacted]\n']);
    log.forward('debug', (level, message) => forwarded.push(`${level}:${message}`));
    log.debug('detail cak_token');
    expect(forwarded).toEqual(['debug:detail cak_[redacted]']);
    expect(lines).toHaveLength(1);
  });
});

describe('redaction of encoded secrets and quoted URLs', () => {
  it('masks a registered secret URL-encoded, in base64 and base64url, and a prefixed key without its prefix', () => {
    const key = 'cpk_enc0ded+/=secretTAIL';
    addSecret(key);
    const b64 = Buffer.from(key).toString('base64');
    const b64url = Buffer.from(key).toString('base64url');
    const bare = key.slice(4);
    for (const form of [encodeURIComponent(key), b64, b64url, bare, encodeURIComponent(bare)]) {
      const out = redact(`before ${form} after`);
      expect(out).not.toContain(form);
      expect(out).not.toContain('TAIL');
      expect(out).toMatch(/^before .*\[redacted\].* after$/);
    }
  });

  it('masks a key-shaped string to its end when it is URL-encoded, even unregistered', () => {
    expect(redact('q=cpk_unreg%2B%2F%3DTAIL&x=1')).toBe('q=cpk_[redacted]&x=1');
  });

  it('masks the user name and password of any URL', () => {
    expect(redact('GET https://me:hunter2@llm.example/v1/models failed')).toBe('GET https://[redacted]@llm.example/v1/models failed');
    expect(redact('see http://token@127.0.0.1:9/x')).toBe('see http://[redacted]@127.0.0.1:9/x');
    expect(redact('mail me@example.com')).toBe('mail me@example.com');
  });

  it('masks object keys that quote input, without letting __proto__ change a prototype', () => {
    const value = JSON.parse('{"cpk_keyasname1":1,"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const out = redactValue(value);
    expect(Object.keys(out)).toEqual(['cpk_[redacted]', '__proto__']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});
