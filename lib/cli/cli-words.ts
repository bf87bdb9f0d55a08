/**
 * Provider messages are written for every caller, and some name JSON-RPC params. On the command
 * line they get the words of the command line: the flag instead of the param, `chutes-rpc login`
 * instead of auth.login.
 */
const REWRITES: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bpass clientId and clientSecret\b/g, 'give --client-id and --client-secret'],
  [/\bpass clientId\b/g, 'give --client-id'],
  [/\bpass clientSecret\b/g, 'give --client-secret'],
  [/\bpass verify: false\b/g, 'add --no-verify'],
  [/\bverify: false\b/g, '--no-verify'],
  [/\b(paste|pasting) the redirect URL \(auth\.complete\)/g, '$1 here the whole address the browser ends up at'],
  [/, or call auth\.login\b/g, ', or chutes-rpc login (Sign in with Chutes)'],
  // A shape like cpk_... is an example, not a secret: written with an ellipsis, the redactor leaves it alone.
  [/\b(cpk|cak|crt|csc|cid)_\.\.\./g, '$1_…'],
];

export function inCliWords(text: string): string {
  let out = text;
  for (const [pattern, replacement] of REWRITES) out = out.replace(pattern, replacement);
  return out;
}
