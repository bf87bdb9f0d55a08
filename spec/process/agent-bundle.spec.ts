import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const LAUNCHER = path.join(__dirname, '..', '..', 'bin', 'cached-bundle.js');

// In a child: the build's Agent bundle (dist/undici-agent.bundle.js) sends one request with a string
// body and one with a FormData body to a local server, and prints what each came to.
const SCRIPT = `
const http = require('node:http');
const { Agent } = require(${JSON.stringify(LAUNCHER)}).loadBundle('undici-agent');
const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
server.listen(0, '127.0.0.1', async () => {
  const agent = new Agent();
  const origin = 'http://127.0.0.1:' + server.address().port;
  const send = (body) => new Promise((resolve) => {
    let status;
    agent.dispatch({ origin, path: '/', method: 'POST', body }, {
      onConnect() {},
      onHeaders(s) { status = s; return true; },
      onData() { return true; },
      onComplete() { resolve('status ' + status); },
      onError(err) { resolve('error ' + err.message); },
    });
  });
  const form = new FormData();
  form.append('a', 'b');
  console.log(JSON.stringify([await send('{"x":1}'), await send(form)]));
  await agent.close();
  server.close();
});
`;

describe('the Agent bundle', () => {
  it('sends string bodies, and refuses a FormData body (left out of the bundle) saying so', () => {
    const r = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    const [text, form] = JSON.parse(r.stdout.trim().split('\n').pop()!) as [string, string];
    expect(text).toBe('status 200');
    expect(form).toMatch(/^error A FormData request body is not in chutes-rpc's Agent bundle/);
  });
});
