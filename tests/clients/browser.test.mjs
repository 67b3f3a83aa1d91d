// The playground as a person sees it: a headless Chromium opens GATEWAY_URL + '/', waits for
// GraphiQL, runs the first tab's example and reads the demo data in the result pane, then runs
// the upload example (a definition file with base64 contents in its variables).
//
// The page must work offline, so every request to a host other than the gateway's loopback
// address is aborted and recorded, and the test fails if there was any. Console errors
// (failed asset loads, CSP violations, script errors) fail it too.
//
// Chromium is Debian's (`apt-get install chromium`), never a Playwright download:
// CHROMIUM_PATH overrides /usr/bin/chromium. SCREENSHOT_PATH overrides where the
// screenshot goes (default: a temp file, whose path is printed).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { chromium } from 'playwright-core';

const BASE = (process.env.GATEWAY_URL ?? '').replace(/\/+$/, '');
if (!BASE) {
  throw new Error('GATEWAY_URL is not set: point it at a running gateway, e.g. http://127.0.0.1:4000');
}
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DEMO_OP = '0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d01';
const DEMO_OP_2 = '0c9e4b7a-1d2f-4a6b-8e3c-5f7a9b1c2d02';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
// The first tab's example, and the name of the operation it defines.
const EXAMPLE = readFileSync(new URL('../../playground/examples/01-list-operations.graphql', import.meta.url), 'utf8');
const EXAMPLE_OPERATION = /^\s*query\s+(\w+)/m.exec(EXAMPLE)?.[1];
if (!EXAMPLE_OPERATION) {
  throw new Error('the first example defines no named query');
}

// Whether a request runs the example's operation: GraphiQL also POSTs its own introspection
// query to /graphql, which is not the example and may be answered first.
function runsExample(request) {
  if (request.method() !== 'POST' || request.url() !== `${BASE}/graphql`) {
    return false;
  }
  let body;
  try {
    body = request.postDataJSON();
  } catch {
    return false;
  }
  const defines = new RegExp(`\\bquery\\s+${EXAMPLE_OPERATION}\\b`).test(body?.query ?? '');
  return defines && (body.operationName == null || body.operationName === EXAMPLE_OPERATION);
}

function isLocal(url) {
  const { protocol, hostname } = new URL(url);
  // data: and blob: URLs never leave the page.
  if (protocol === 'data:' || protocol === 'blob:') {
    return true;
  }
  return LOCAL_HOSTS.has(hostname);
}

test('the playground renders offline and runs the first example and the upload example', { timeout: 120_000 }, async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: install Debian's with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`,
  );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    timeout: 60_000,
  });
  t.after(() => browser.close());

  // Against a Graph-mode gateway the page's requests carry the user's token, as a signed-in
  // front end's would.
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    extraHTTPHeaders: process.env.GATEWAY_TOKEN ? { authorization: `Bearer ${process.env.GATEWAY_TOKEN}` } : {},
  });
  const blocked = [];
  const requested = [];
  const failed = [];
  const badResponses = [];
  const consoleErrors = [];
  const sockets = [];

  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (isLocal(url)) {
      return route.continue();
    }
    blocked.push(url);
    return route.abort('blockedbyclient');
  });

  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('request', (request) => requested.push(`${request.method()} ${request.url()}`));
  page.on('requestfailed', (request) => {
    failed.push(`${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      badResponses.push(`${response.status()} ${response.url()}`);
    }
  });
  page.on('console', (message) => {
    if (message.type() === 'error') {
      consoleErrors.push(message.text());
    }
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  page.on('websocket', (socket) => sockets.push(socket.url()));

  const response = await page.goto(`${BASE}/`, { waitUntil: 'load' });
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'] ?? '', /default-src 'none'/);

  // GraphiQL has rendered: its query editor holds the first example, the list query.
  const editor = page.locator('.graphiql-query-editor .CodeMirror');
  await editor.waitFor({ state: 'visible' });
  await page.waitForFunction(() =>
    (name) => document.querySelector('.graphiql-query-editor .CodeMirror')?.textContent?.includes(`query ${name}`),
    EXAMPLE_OPERATION,
  );
  const variables = await page.evaluate(
    () => document.querySelector('.graphiql-editor-tool .CodeMirror')?.textContent ?? '',
  );
  assert.match(variables, /a1f5c3d2-7b64-4e0f-9c21-3d8e5f6a7b01/, 'the first example fills the variables');

  // Run it with GraphiQL's own button and wait for the demo operations in the result pane.
  const execute = page.locator('.graphiql-execute-button');
  await execute.waitFor({ state: 'visible' });
  const answered = page.waitForResponse((r) => runsExample(r.request()));
  await execute.click();
  const graphqlResponse = await answered;
  assert.equal(graphqlResponse.status(), 200);
  const body = await graphqlResponse.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  assert.equal(body.data.groupPolicyOperations.edges.length, 2);

  await page.waitForFunction(
    (id) => document.querySelector('.graphiql-response')?.textContent?.includes(id),
    DEMO_OP,
  );
  const result = await page.locator('.graphiql-response').textContent();
  assert.match(result, /UPLOAD/);
  assert.match(result, /SUCCESS/);
  assert.ok(result.includes(DEMO_OP_2), 'the second demo operation is on the first page too');
  assert.match(result, /"hasNextPage": true/);

  // The upload example: its tab carries the sample ADMX and ADML as base64 variables.
  await page.locator('.graphiql-tab-button', { hasText: 'UploadDefinitionFile' }).click();
  await page.waitForFunction(() =>
    document.querySelector('.graphiql-query-editor .CodeMirror')?.textContent?.includes('uploadGroupPolicyDefinitionFile'),
  );
  const uploaded = page.waitForResponse(
    (r) =>
      r.url() === `${BASE}/graphql` &&
      r.request().method() === 'POST' &&
      (r.request().postData() ?? '').includes('UploadDefinitionFile'),
  );
  await execute.click();
  const uploadResponse = await uploaded;
  assert.equal(uploadResponse.status(), 200);
  const uploadBody = await uploadResponse.json();
  assert.equal(uploadBody.errors, undefined, JSON.stringify(uploadBody.errors));
  assert.equal(uploadBody.data.uploadGroupPolicyDefinitionFile.fileName, 'fabrikam-vpn.admx');
  assert.equal(uploadBody.data.uploadGroupPolicyDefinitionFile.status, 'UPLOAD_IN_PROGRESS');
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response')?.textContent?.includes('UPLOAD_IN_PROGRESS'),
  );

  const screenshot = process.env.SCREENSHOT_PATH || join(tmpdir(), `gpo-gateway-playground-${process.pid}.png`);
  await page.screenshot({ path: screenshot, fullPage: true });
  t.diagnostic(`screenshot: ${screenshot}`);

  // Nothing left the machine, nothing failed to load, nothing complained.
  assert.deepEqual(blocked, [], `the page requested external URLs:\n${blocked.join('\n')}`);
  for (const url of sockets) {
    assert.ok(isLocal(url.replace(/^ws/, 'http')), `WebSocket to an external host: ${url}`);
  }
  assert.deepEqual(failed, [], `requests failed:\n${failed.join('\n')}`);
  assert.deepEqual(badResponses, [], `error responses:\n${badResponses.join('\n')}`);
  assert.deepEqual(consoleErrors, [], `console errors:\n${consoleErrors.join('\n')}`);
  assert.ok(
    requested.some((r) => r.includes('/playground/')),
    `the page loaded its assets from /playground/: ${requested.join(', ')}`,
  );
  t.diagnostic(`requests: ${requested.length}, all local`);
});
