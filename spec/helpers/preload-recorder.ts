import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// Process specs see inside a real chutes-rpc through a script preloaded with `node --require`: it
// records what the process did, and writes its report at exit to the file RECORDER_REPORT names.

/**
 * Recorder source: keeps, in `cachedScripts`, each script compiled with a code cache, as its file's
 * base name and whether V8 rejected the cache.
 */
export const CACHED_SCRIPTS = `
const cachedScripts = [];
{
  const vm = require('node:vm');
  const Script = vm.Script;
  vm.Script = class extends Script {
    constructor(source, options) {
      super(source, options);
      if (options && options.cachedData) cachedScripts.push({ file: require('node:path').basename(options.filename), rejected: this.cachedDataRejected });
    }
  };
}
`;

/**
 * Writes the recorder `source` to a new temporary directory: the node arguments that preload it, the
 * environment that tells it where to report, and the report's path.
 */
export function preloadRecorder(source: string): { nodeArgs: string[]; env: { RECORDER_REPORT: string }; report: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-'));
  const recorder = path.join(dir, 'recorder.js');
  const report = path.join(dir, 'report');
  fs.writeFileSync(recorder, source);
  return { nodeArgs: ['--require', recorder], env: { RECORDER_REPORT: report }, report };
}
