import * as fs from 'node:fs';
import * as path from 'node:path';
import { inCliWords } from '../../lib/cli/cli-words';
import { homeProblem } from '../../lib/cli/settings';
import { missingValue, usageHint } from '../../lib/cli/usage';
import { redact } from '../../lib/log/redact';
import { tempHome } from '../helpers/rpc-process';

describe('missingValue (an option that takes a value, given none)', () => {
  const known = { string: ['replay', 'model', 'm'], number: ['max-tokens'], alias: { model: ['m'] } };

  it('names the option given as an empty string, as nothing, or as NaN; accepts what has a value', () => {
    expect(missingValue({ replay: '' }, known)).toBe('--replay needs a value');
    expect(missingValue({ 'max-tokens': undefined }, known)).toBe('--max-tokens needs a value');
    expect(missingValue({ 'max-tokens': NaN }, known)).toBe('--max-tokens needs a value');
    expect(missingValue({ model: '', m: '' }, known)).toBe('--model needs a value');
    expect(missingValue({ replay: 'x.json', 'max-tokens': 5 }, known)).toBeUndefined();
    expect(missingValue({}, known)).toBeUndefined();
  });
});

describe('usageHint', () => {
  const names = ['chat', 'models', 'config', 'logout'];
  it('points at the help of the command (and of the action for models and config)', () => {
    expect(usageHint(['chat', 'hi', '--replay'], names)).toBe("Run 'chutes-rpc chat --help' for usage.");
    expect(usageHint(['models', 'list', '--bogus'], names)).toBe("Run 'chutes-rpc models list --help' for usage.");
    expect(usageHint(['bogus'], names)).toBe("Run 'chutes-rpc --help' for usage.");
    expect(usageHint(['--bogus'], names)).toBe("Run 'chutes-rpc --help' for usage.");
  });
});

describe('CLI words', () => {
  it('names flags instead of JSON-RPC params, and keeps example key shapes out of the redactor', () => {
    const text =
      'then set CHUTES_CLIENT_ID (cid_...) and CHUTES_CLIENT_SECRET (csc_...) or pass clientId and clientSecret. ' +
      'No OAuth client id: pass clientId or set CHUTES_CLIENT_ID. Or pass verify: false to store it unchecked. ' +
      'finish the sign-in by pasting the redirect URL (auth.complete). Log in first (or set CHUTES_API_KEY), or call auth.login.';
    const out = redact(inCliWords(text));
    expect(out).toContain('CHUTES_CLIENT_SECRET (csc_…) or give --client-id and --client-secret');
    expect(out).toContain('give --client-id or set CHUTES_CLIENT_ID');
    expect(out).toContain('Or add --no-verify to store it unchecked');
    expect(out).toContain('or chutes-rpc login (Sign in with Chutes)');
    expect(out).toContain('by pasting here the whole address the browser ends up at');
    for (const jsonRpcWord of ['clientId', 'verify: false', 'auth.complete', 'auth.login', '[redacted]'])
      expect(out).not.toContain(jsonRpcWord);
    expect(redact(inCliWords('the key csc_abcdef123456 leaked'))).toBe('the key csc_[redacted] leaked');
  });
});

describe('homeProblem (checked before anything creates the home)', () => {
  it('accepts a directory, or one that can be created (and leaves nothing behind)', () => {
    const base = tempHome();
    expect(homeProblem(base, '--home')).toBeUndefined();
    expect(homeProblem(path.join(base, 'a', 'b'), '--home')).toBeUndefined();
    expect(fs.existsSync(path.join(base, 'a'))).toBe(false);
  });

  it('refuses a regular file, a path through one, and a place where no directory can be made', () => {
    const file = path.join(tempHome(), 'file');
    fs.writeFileSync(file, '');
    expect(homeProblem(file, '--home')).toBe(`--home ${file}: ${file} is a file, not a directory`);
    expect(homeProblem(path.join(file, 'x'), '--home')).toBe(`--home ${file}/x: ${file} is not a directory`);
    if (fs.existsSync('/proc/self')) {
      expect(homeProblem('/proc/nope/deeper', '--home')).toMatch(/^--home \/proc\/nope\/deeper: cannot create \/proc\/nope \(/);
    }
  });
});

describe('the run temporary directory (spec/helpers/test-tmp.js)', () => {
  it('holds every temporary file a test makes, so that the teardown removes them all', () => {
    const runTmp = process.env.CHUTES_RPC_TEST_RUN_TMP;
    expect(runTmp).toBeTruthy();
    expect(require('node:os').tmpdir()).toBe(runTmp);
    expect(tempHome().startsWith(`${runTmp}${path.sep}`)).toBe(true);
  });
});
