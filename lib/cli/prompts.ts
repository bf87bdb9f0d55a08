import * as readline from 'node:readline';

/** All of stdin as UTF-8 text (decoded once at the end, so no character is split). */
export function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => parts.push(c));
    process.stdin.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

/** The first line of a piped stdin (`echo $KEY | chutes-rpc onboard ...`), or '' at EOF. */
export function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input, terminal: false });
    let done = false;
    rl.once('line', (l) => {
      done = true;
      rl.close();
      resolve(l.trim());
    });
    rl.once('close', () => {
      if (!done) resolve('');
    });
  });
}

/** Asks on the terminal (the question on stderr) until `accept` takes an answer. */
export async function ask<T>(question: string, accept: (answer: string) => T | undefined): Promise<T> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const answer = accept((await new Promise<string>((r) => rl.question(question, r))).trim());
      if (answer !== undefined) return answer;
    }
  } finally {
    rl.close();
  }
}

/**
 * Asks on the terminal without echoing what is typed. The question stays visible: readline redraws
 * its line (clearing it first) on each key, so everything it writes after the question is dropped.
 */
export async function askHidden(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const internals = rl as unknown as { _writeToOutput: (s: string) => void };
  const writeToOutput = internals._writeToOutput.bind(rl);
  let muted = false;
  internals._writeToOutput = (s: string) => {
    if (!muted) writeToOutput(s);
  };
  try {
    const answer = new Promise<string>((r) => rl.question(question, r));
    muted = true;
    return (await answer).trim();
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
