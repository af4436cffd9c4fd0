/**
 * Shared by the e2e tests and the UI bench: a headless Debian Chromium driven by playwright-core,
 * and a guarantee that ui/dist exists. A missing browser is an error, never a skip: CI installs
 * `chromium` with apt-get, and a UI suite that silently skips proves nothing.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.MESHTRACE_CHROMIUM ?? '/usr/bin/chromium';
export const UI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const UI_DIST = join(UI_DIR, 'dist');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the UI tests need a real browser. ` +
        'Install it with `apt-get update && apt-get install -y chromium` (or set MESHTRACE_CHROMIUM).',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Builds the UI bundle when ui/dist is missing (`npm install` normally built it via `prepare`). */
export async function ensureUiBuilt(): Promise<string> {
  if (!existsSync(join(UI_DIST, 'index.html'))) {
    const { build } = await import('vite');
    await build({ configFile: join(UI_DIR, 'vite.config.ts'), logLevel: 'error' });
  }
  return UI_DIST;
}
