// Opens `sluice ui` in the desktop's browser without putting its token on a command line, where any local user
// reads it with `ps`: the opener is given a file only this user can read, which sends the browser on to the page.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** How long the hand-over file is kept: long enough for a browser to start. */
const handOverMs = 60_000;

/**
 * Opens `url` with the desktop's opener, when there is a desktop, and returns the hand-over file it was given;
 * quietly does nothing otherwise.
 */
export function openBrowser(url: string): string | undefined {
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  if (process.platform !== 'darwin' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-ui-'));
  const page = path.join(dir, 'open.html');
  const target = url.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  writeFileSync(page, `<!doctype html><meta http-equiv="refresh" content="0;url=${target}">\n`, {
    mode: 0o600,
  });
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  setTimeout(remove, handOverMs).unref();
  process.once('exit', remove);
  spawn(opener, [page], { stdio: 'ignore', detached: true })
    .on('error', () => undefined)
    .unref();
  return page;
}
