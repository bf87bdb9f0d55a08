import { Logger } from '../../lib/log/logger';
import { addSecret, redact, redactValue } from '../../lib/log/redact';

describe('redaction', () => {
  it('masks anything shaped like a Chutes key, token or secret', () => {
    expect(redact('key cpk_abc123.def-XYZ and cak_tok, crt_ref; csc_sec')).toBe(
      'key cpk_[redacted] and cak_[redacted], crt_[redacted]; csc_[redacted]',
    );
    expect(redact('Authorization: Bearer sk-abcdefghijkl')).toBe('Authorization: Bearer [redacted]');
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
