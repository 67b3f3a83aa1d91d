// The admin app in a real browser against a real gateway, as a developer would first run it:
// a store-mode gateway started with no CORS flag, then the app twice:
//
//   1. same origin: the production build served by `vite preview`, /graphql (HTTP and
//      WebSocket) forwarded by its proxy;
//   2. cross origin: the Vite dev server on another port, calling the gateway directly
//      (VITE_GATEWAY_URL), which the gateway's store-mode default origins must allow.
//
// Each run lists files and pages through them, opens a file and pages through its operations,
// records an operation, uploads an ADMX with its ADML and follows the subscription until Intune
// finishes (the list row updates from the subscription alone), and shows the readable message
// of NOT_FOUND, BAD_USER_INPUT and LIMIT_EXCEEDED. A screenshot goes to SCREENSHOT_PATH
// (default ../../target/admin-app.png).
//
// Needs `npm run build` first (dist/), the gateway binary (GATEWAY_BIN, default
// ../../target/debug/gpo-gateway) and Debian's Chromium (CHROMIUM_PATH, default
// /usr/bin/chromium; never a Playwright download). Every wait is for a selector or a text.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';
import { createServer, preview } from 'vite';

const APP = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(APP, '../..');
const GATEWAY_BIN = process.env.GATEWAY_BIN || join(REPO, 'target/debug/gpo-gateway');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SCREENSHOT = process.env.SCREENSHOT_PATH || join(REPO, 'target/admin-app.png');
const SAMPLES = join(REPO, 'playground/samples');
const DEMO_FILE = 'a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01';
/** Longest any one awaited thing may take on a loaded machine. */
const WAIT = 30_000;
/** The whole run; a hang fails it instead of blocking CI. */
const OVERALL = 240_000;

const cleanups = [];
async function cleanUp() {
  for (const step of cleanups.reverse()) {
    await Promise.resolve().then(step).catch(() => undefined);
  }
}
const deadline = setTimeout(async () => {
  console.error(`admin-app e2e: still running after ${OVERALL / 1000} s; giving up`);
  await cleanUp();
  process.exit(1);
}, OVERALL);

/** Starts the gateway with no CORS flag; resolves to its base URL once it serves. */
function startGateway() {
  assert.ok(existsSync(GATEWAY_BIN), `no gateway binary at ${GATEWAY_BIN}: run \`cargo build\` first (or set GATEWAY_BIN)`);
  // No CORS flag, and none from the environment either: the defaults are what is tested.
  const env = { ...process.env, RUST_LOG: 'warn' };
  delete env.GPO_GATEWAY_CORS_ORIGINS;
  const child = spawn(GATEWAY_BIN, ['--listen', '127.0.0.1:0', '--store-processing-delay', '3s'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  cleanups.push(() => child.kill('SIGTERM'));
  const log = [];
  createInterface({ input: child.stderr }).on('line', (line) => log.push(line));
  return new Promise((resolvePromise, reject) => {
    child.on('exit', (code) => reject(new Error(`the gateway exited with ${code}:\n${log.join('\n')}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const endpoint = /endpoint:\s+(http:\/\/\S+)\/graphql/.exec(line);
      if (endpoint) {
        resolvePromise({ base: endpoint[1], log });
      }
      if (line.trim().startsWith('browsers:')) {
        console.log(`gateway ${line.trim()}`);
      }
    });
  });
}

/** Runs every flow on the app at `appUrl`; requests must go to `apiBase`. */
async function flows(context, appUrl, apiBase, label, screenshot) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const pageErrors = [];
  const corsErrors = [];
  const apiRequests = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && /CORS|Cross-Origin|blocked/i.test(message.text())) {
      corsErrors.push(message.text());
    }
  });
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/graphql') {
      apiRequests.push(request.url());
    }
  });

  // Files, two per page, then the rest.
  await page.goto(appUrl);
  const rows = page.locator('table.files tbody tr');
  await page.locator(`tr[data-file-id="${DEMO_FILE}"]`).waitFor();
  assert.equal(await rows.count(), 2, `${label}: the first page holds two files`);
  while (await page.getByRole('button', { name: 'More files' }).isVisible()) {
    const before = await rows.count();
    await page.getByRole('button', { name: 'More files' }).click();
    await page.locator(`table.files tbody tr:nth-child(${before + 1})`).waitFor();
  }
  await page.getByText(/^All \d+ files shown\.$/).waitFor();
  const filesBefore = await rows.count();
  assert.ok(filesBefore >= 3, `${label}: the demo files are listed`);

  // A file's operations, paged, then one recorded.
  await page.locator(`tr[data-file-id="${DEMO_FILE}"] button`).click();
  const operations = page.locator('ol.operations li');
  await operations.first().waitFor();
  while (await page.getByRole('button', { name: 'More operations' }).isVisible()) {
    const before = await operations.count();
    await page.getByRole('button', { name: 'More operations' }).click();
    await page.locator(`ol.operations li:nth-child(${before + 1})`).waitFor();
  }
  await page.getByText(/^All \d+ operations shown\.$/).waitFor();
  const details = `recorded ${label} ${randomUUID().slice(0, 8)}`;
  const form = page.getByRole('form', { name: 'Record an operation' });
  await form.getByLabel('Type').selectOption('UPLOAD_NEW_VERSION');
  await form.getByLabel('Status').selectOption('SUCCESS');
  await form.getByLabel('Details').fill(details);
  await form.getByRole('button', { name: 'Record' }).click();
  await page.locator('ol.operations li', { hasText: details }).locator('[data-status="SUCCESS"]').waitFor();

  // An upload followed to the end: the row comes from the mutation, its final status from the
  // subscription (the app never refetches the list).
  await page.locator('input[name="admx"]').setInputFiles(join(SAMPLES, 'fabrikam-vpn.admx'));
  await page.locator('input[name="adml"]').setInputFiles(join(SAMPLES, 'en-US/fabrikam-vpn.adml'));
  await page.getByRole('button', { name: 'Upload' }).click();
  const newRow = page.locator(`table.files tbody tr:nth-child(${filesBefore + 1})`);
  await newRow.locator('[data-status="UPLOAD_IN_PROGRESS"]').waitFor();
  await page.locator('.progress[data-finished="true"] [data-status="AVAILABLE"]').waitFor();
  await newRow.locator('[data-status="AVAILABLE"]').waitFor();
  assert.match(await newRow.innerText(), /fabrikam-vpn\.admx/);

  // Errors, each in words.
  const alert = (code) => page.locator(`[role="alert"][data-code="${code}"]`);
  const oneLanguageTwice = ['a', 'b'].map((name) => ({
    name: `${name}.adml`,
    mimeType: 'application/xml',
    buffer: readFileSync(join(SAMPLES, 'en-US/fabrikam-vpn.adml')),
  }));
  await page.locator('input[name="adml"]').setInputFiles(oneLanguageTwice);
  await page.getByRole('button', { name: 'Upload' }).click();
  await alert('BAD_USER_INPUT').getByText('Some of what you entered is not valid.').waitFor();
  const tooLarge = { name: 'huge.admx', mimeType: 'application/xml', buffer: Buffer.alloc(1_100_000, 0x20) };
  await page.locator('input[name="admx"]').setInputFiles(tooLarge);
  await page.locator('input[name="adml"]').setInputFiles(join(SAMPLES, 'en-US/fabrikam-vpn.adml'));
  await page.getByRole('button', { name: 'Upload' }).click();
  await alert('LIMIT_EXCEEDED').getByText('This is over a limit of the gateway or of Intune').waitFor();
  if (screenshot) {
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  }
  await page.goto(`${appUrl}#/files/${randomUUID()}`);
  await alert('NOT_FOUND').getByText('no longer exists').waitFor();

  assert.deepEqual(pageErrors, [], `${label}: script errors`);
  assert.deepEqual(corsErrors, [], `${label}: CORS errors`);
  assert.ok(apiRequests.length > 0, `${label}: the page called the API`);
  for (const url of apiRequests) {
    assert.ok(url.startsWith(`${apiBase}/graphql`) || url.startsWith(apiBase.replace(/^http/, 'ws')), `${label}: ${url}`);
  }
  console.log(`ok ${label}: ${apiRequests.length} requests to ${apiBase}`);
  await page.close();
}

async function main() {
  assert.ok(existsSync(join(APP, 'dist/index.html')), 'no dist/: run `npm run build` first');
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  const started = Date.now();
  const gateway = await startGateway();
  process.env.GATEWAY_URL = gateway.base;

  // Same origin: the build, through vite preview's proxy.
  const previewServer = await preview({
    root: APP,
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port: 0, strictPort: true },
  });
  cleanups.push(() => previewServer.close());
  const previewUrl = previewServer.resolvedUrls.local[0].replace(/\/$/, '');

  // Cross origin: the dev server on another port, calling the gateway itself.
  process.env.VITE_GATEWAY_URL = gateway.base;
  const devServer = await createServer({
    root: APP,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: true, hmr: false },
  });
  await devServer.listen();
  cleanups.push(() => devServer.close());
  const devUrl = devServer.resolvedUrls.local[0].replace(/\/$/, '');
  assert.notEqual(new URL(devUrl).origin, new URL(gateway.base).origin);

  const profile = mkdtempSync(join(tmpdir(), 'admin-app-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  cleanups.push(() => context.close());

  await flows(context, previewUrl, previewUrl, 'same origin (vite preview proxy)');
  await flows(context, devUrl, gateway.base, 'cross origin (vite dev server)', SCREENSHOT);
  console.log(`admin-app e2e passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  await main();
  clearTimeout(deadline);
  await cleanUp();
  process.exit(0);
} catch (error) {
  console.error(error);
  clearTimeout(deadline);
  await cleanUp();
  process.exit(1);
}
