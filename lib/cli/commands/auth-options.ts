import { SETTINGS_OPTIONS } from '../settings';

export const AUTH_CHOICES = ['chutes-api-key', 'chutes'] as const;
export type AuthChoice = (typeof AUTH_CHOICES)[number];

/** The options of onboard and login. */
export const LOGIN_OPTIONS = {
  'auth-choice': {
    type: 'string',
    choices: AUTH_CHOICES,
    describe: 'chutes-api-key: store an API key; chutes: Sign in with Chutes in the browser (OAuth)',
  },
  'chutes-api-key': { type: 'string', describe: 'the API key (cpk_...); else $CHUTES_API_KEY, else asked for (or read from piped stdin)' },
  'non-interactive': { type: 'boolean', default: false, describe: 'never ask anything; fail when something is missing' },
  profile: { type: 'string', describe: 'the profile to store under (default chutes:default for a key, chutes:oauth for a sign-in)' },
  verify: { type: 'boolean', default: true, describe: 'check the API key against GET /models before storing it (--no-verify skips)' },
  'client-id': { type: 'string', describe: "Sign in with Chutes: your app's client id (cid_...); else $CHUTES_CLIENT_ID" },
  'client-secret': {
    type: 'string',
    describe:
      "Sign in with Chutes: your app's client secret (csc_...); else $CHUTES_CLIENT_SECRET. Stored with the tokens only when given here",
  },
  'redirect-uri': {
    type: 'string',
    describe: 'Sign in with Chutes: else $CHUTES_OAUTH_REDIRECT_URI, else http://127.0.0.1:1456/oauth-callback',
  },
  scopes: {
    type: 'string',
    describe: 'Sign in with Chutes: space-separated; else $CHUTES_OAUTH_SCOPES, else "openid profile chutes:invoke"',
  },
  timeout: { type: 'number', default: 180, describe: 'Sign in with Chutes: seconds to wait for the browser' },
  browser: { type: 'boolean', default: true, describe: 'Sign in with Chutes: open the browser (--no-browser only prints the URL)' },
  ...SETTINGS_OPTIONS,
} as const;

export interface LoginArgs {
  'auth-choice'?: AuthChoice;
  'chutes-api-key'?: string;
  'non-interactive'?: boolean;
  profile?: string;
  verify?: boolean;
  'client-id'?: string;
  'client-secret'?: string;
  'redirect-uri'?: string;
  scopes?: string;
  timeout?: number;
  browser?: boolean;
}
