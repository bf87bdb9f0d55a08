import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type { CassetteInteraction } from '../../generated/types';

/**
 * A cassette written as it is recorded: each interaction is appended to `<file>.<random>.partial`
 * (0600) the moment it completes and then forgotten, so memory stays flat however long the
 * session; finish() closes the JSON and renames the file into place. The result is the same text
 * as JSON.stringify(cassette, null, 2).
 */
export class CassetteWriter {
  private fd: number | undefined;
  private readonly partial: string;
  private count = 0;

  constructor(readonly file: string) {
    this.partial = `${file}.${crypto.randomBytes(4).toString('hex')}.partial`;
    this.fd = fs.openSync(this.partial, 'wx', 0o600);
    fs.writeSync(this.fd, '{\n  "version": 1,\n  "description": "recorded by chutes-rpc --record",\n  "interactions": [');
  }

  append(interaction: CassetteInteraction): void {
    if (this.fd === undefined) return;
    const text = JSON.stringify(interaction, null, 2).replace(/\n/g, '\n    ');
    fs.writeSync(this.fd, `${this.count++ ? ',' : ''}\n    ${text}`);
  }

  finish(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.writeSync(fd, this.count ? '\n  ]\n}\n' : ']\n}\n');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(this.partial, this.file);
  }
}
