// Headless Chromium for the browser tests: Debian's /usr/bin/chromium (scripts/ensure-chromium.sh installs it) driven
// by playwright-core, with the flags that keep it from reaching Google hosts (the machine's network is closed), a fresh
// profile per launch (playwright's own temporary one) and a fresh context per page; and screenshots written to
// .stack/test-artifacts/ (git-ignored with the rest of .stack). Must never: download a browser.
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/stack/config.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Where screenshots go (inside .stack/, which .gitignore covers). */
export const ARTIFACTS_DIR = path.join(PROJECT_ROOT, '.stack', 'test-artifacts');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--no-default-browser-check',
  '--disable-breakpad',
  '--disable-crash-reporter',
];

export interface LaunchedChromium {
  readonly browser: Browser;
  /** A page in a fresh context (own cookies and storage), 1280×900 unless told otherwise, UTC, en-US. */
  newPage(options?: { viewport?: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Chromium with the offline-friendly flags. Playwright gives the browser a fresh temporary profile of its own (and
 * removes it on close), so no --user-data-dir is passed. Fails with what to run when Chromium is missing.
 */
export async function launchChromium(): Promise<LaunchedChromium> {
  try {
    await access(CHROMIUM_PATH);
  } catch {
    throw new Error(`${CHROMIUM_PATH} is missing: run \`bash scripts/ensure-chromium.sh\` (as root) to install Debian's chromium package`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS });
  const contexts: BrowserContext[] = [];
  return {
    browser,
    newPage: async (options = {}) => {
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 }, timezoneId: 'UTC', locale: 'en-US' });
      contexts.push(context);
      return context.newPage();
    },
    close: async () => {
      for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}

export interface Screenshot {
  readonly file: string;
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
}

/** Width and height from a PNG's IHDR chunk; throws when the bytes are not a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || !signature.every((b, i) => png[i] === b)) throw new Error('not a PNG: the signature is missing');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  if (String.fromCharCode(...png.subarray(12, 16)) !== 'IHDR') throw new Error('not a PNG: the first chunk is not IHDR');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** A full-page screenshot of `page` as `<ARTIFACTS_DIR>/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<Screenshot> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  const png = await page.screenshot({ fullPage: true, type: 'png' });
  await writeFile(file, png);
  return { file, bytes: png.length, ...pngSize(png) };
}
