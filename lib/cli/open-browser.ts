/**
 * Opens `url` in a browser where that can work: $BROWSER if set, else open (macOS), rundll32
 * (Windows) or xdg-open (elsewhere, only with a display). Never fails: false when it could not.
 */
export function openBrowser(url: string, env: Record<string, string | undefined>): Promise<boolean> {
  let cmd: string;
  let args: string[];
  const browser = env.BROWSER?.trim();
  if (browser) {
    const parts = browser.split(':')[0]!.split(/\s+/);
    cmd = parts[0]!;
    args = [...parts.slice(1), url];
  } else if (process.platform === 'darwin') {
    cmd = 'open';
    args = [url];
  } else if (process.platform === 'win32') {
    cmd = 'rundll32';
    args = ['url.dll,FileProtocolHandler', url];
  } else {
    // Without a display, xdg-open would at best fail and at worst start a text browser in this terminal.
    if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return Promise.resolve(false);
    cmd = 'xdg-open';
    args = [url];
  }
  return new Promise((resolve) => {
    try {
      const { spawn } = require('node:child_process') as typeof import('node:child_process');
      const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
