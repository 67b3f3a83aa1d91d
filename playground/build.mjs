#!/usr/bin/env node
// Builds the offline GraphiQL playground: `node build.mjs <outDir>`.
//
// Writes into outDir an index.html and the hashed assets it references under /playground/,
// plus licenses.txt for the bundled packages, and beside each compressible file a `.gz` and a
// `.br` copy (when smaller), so the gateway serves compressed bytes without compressing per
// request. The example operations in ./examples are read here and become the playground's
// tabs. build.sh runs this (after `npm ci`); build.rs embeds every output file in the gateway
// binary, so the page must never load anything from another origin: the build fails when an
// output file references an external resource.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

import * as esbuild from 'esbuild';
import { Kind, parse } from 'graphql';

const here = path.dirname(fileURLToPath(import.meta.url));
const PUBLIC_PATH = '/playground/';

function fail(message) {
  console.error(`playground build failed: ${message}`);
  process.exit(1);
}

const outArg = process.argv[2];
if (!outArg) fail('usage: node build.mjs <outDir> (playground/build.sh runs it)');
const outDir = path.resolve(outArg);
// The output directory is emptied first (stale hashed files would be embedded too), so refuse
// directories that are obviously not build output.
for (const precious of [path.parse(outDir).root, here, path.dirname(here), process.cwd()]) {
  if (outDir === path.resolve(precious)) fail(`refusing to use ${outDir} as the output directory`);
}

/** The example operations, in file-name order, checked to hold one named operation each. */
function readExamples() {
  const dir = path.join(here, 'examples');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort();
  if (files.length === 0) fail(`no .graphql examples in ${dir}`);
  return files.map((file) => {
    const stem = file.slice(0, -'.graphql'.length);
    const query = readFileSync(path.join(dir, file), 'utf8');
    let document;
    try {
      document = parse(query);
    } catch (e) {
      fail(`examples/${file} does not parse: ${e.message}`);
    }
    const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (operations.length !== 1 || !operations[0].name) {
      fail(`examples/${file} must hold exactly one named operation`);
    }
    const variablesFile = path.join(dir, `${stem}.json`);
    if (!existsSync(variablesFile)) fail(`examples/${file} has no sibling ${stem}.json`);
    const variables = readFileSync(variablesFile, 'utf8');
    let parsed;
    try {
      parsed = JSON.parse(variables);
    } catch (e) {
      fail(`examples/${stem}.json is not JSON: ${e.message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      fail(`examples/${stem}.json must hold a JSON object of variables`);
    }
    return {
      name: operations[0].name.value,
      query: query.trimEnd() + '\n',
      variables: JSON.stringify(parsed, null, 2),
    };
  });
}

/** Serves `import examples from 'gpo:examples'` with the examples read at build time. */
function examplesPlugin(examples) {
  return {
    name: 'gpo-examples',
    setup(build) {
      build.onResolve({ filter: /^gpo:examples$/ }, () => ({
        path: 'examples',
        namespace: 'gpo-examples',
      }));
      build.onLoad({ filter: /.*/, namespace: 'gpo-examples' }, () => ({
        contents: JSON.stringify(examples),
        loader: 'json',
      }));
    },
  };
}

/** The license texts of every npm package that ended up in the bundle. */
function licenses(metafile) {
  const packages = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) packages.set(match[1], true);
  }
  const sections = [];
  for (const dir of [...packages.keys()].sort()) {
    const abs = path.resolve(here, dir);
    const pkg = JSON.parse(readFileSync(path.join(abs, 'package.json'), 'utf8'));
    const licenseFile = readdirSync(abs).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
    const text = licenseFile
      ? readFileSync(path.join(abs, licenseFile), 'utf8').trim()
      : `License: ${pkg.license ?? 'see package'}`;
    sections.push(`${pkg.name}@${pkg.version} (${pkg.license ?? 'unknown'})\n\n${text}\n`);
  }
  return (
    'Third-party software bundled in the gpo-gateway playground.\n\n' +
    sections.join(`\n${'-'.repeat(78)}\n\n`)
  );
}

// Patterns of references a browser would follow to another origin, per kind of file.
const EXTERNAL = {
  css: [
    /url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i,
    /@import\s+(?:url\(\s*)?["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i,
  ],
  html: [
    /<(?:script|img|iframe|source|audio|video|embed|track)\b[^>]*\bsrc\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i,
    /<link\b[^>]*\bhref\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i,
    /<object\b[^>]*\bdata\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i,
    /url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i,
    /@import\s/i,
  ],
  js: [
    // CSS embedded in scripts, and modules, workers and scripts loaded by URL.
    /url\(\s*\\?["']?\s*https?:\/\//i,
    /@import\s+(?:url\()?\\?["']?\s*https?:\/\//i,
    /\bimport\s*\(\s*["'`]\s*(?:https?:)?\/\//i,
    /\b(?:import|from)\s*["'`](?:https?:)?\/\//i,
    /\bimportScripts\s*\(\s*["'`]\s*https?:/i,
    /\bnew\s+(?:Shared)?Worker\s*\(\s*["'`]\s*https?:/i,
  ],
  any: [
    // Well-known CDNs and font hosts: never expected anywhere in the output.
    /fonts\.googleapis\.com|fonts\.gstatic\.com|use\.typekit\.net|cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|esm\.sh\b|cdn\.skypack\.dev/i,
  ],
};

function externalReferences(file, text) {
  const ext = path.extname(file).slice(1);
  const patterns = [...(EXTERNAL[ext] ?? []), ...EXTERNAL.any];
  const found = [];
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) {
      const start = Math.max(0, match.index - 40);
      found.push(`${path.basename(file)}: …${text.slice(start, match.index + 80)}…`);
    }
  }
  return found;
}

const started = Date.now();
const examples = readExamples();

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/index.jsx' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  jsx: 'automatic',
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: {
    '.woff': 'file',
    '.woff2': 'file',
    '.ttf': 'file',
    '.otf': 'file',
    '.eot': 'file',
    '.svg': 'file',
    '.png': 'file',
    '.gif': 'file',
  },
  outdir: outDir,
  publicPath: PUBLIC_PATH,
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
  plugins: [examplesPlugin(examples)],
}).catch(() => fail('esbuild reported errors (above)'));

// The entry point's JavaScript and the CSS esbuild extracted from its imports.
let appJs;
let appCss;
for (const [output, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint === 'src/index.jsx') {
    appJs = path.basename(output);
    appCss = meta.cssBundle && path.basename(meta.cssBundle);
  }
}
if (!appJs || !appCss) fail('esbuild produced no app JavaScript or CSS');

const template = readFileSync(path.join(here, 'src/index.html'), 'utf8');
const html = template
  .replace('%APP_JS%', PUBLIC_PATH + appJs)
  .replace('%APP_CSS%', PUBLIC_PATH + appCss);
writeFileSync(path.join(outDir, 'index.html'), html);
writeFileSync(path.join(outDir, 'licenses.txt'), licenses(result.metafile));

// Nothing may be loaded from anywhere but the gateway.
const outputs = readdirSync(outDir).sort();
const problems = [];
for (const file of outputs) {
  const full = path.join(outDir, file);
  if (/\.(html|css|js)$/.test(file)) {
    problems.push(...externalReferences(file, readFileSync(full, 'utf8')));
  }
}
// Every same-origin reference of the page and its CSS must be a file of the build.
const localRefs = [
  ...html.matchAll(/(?:src|href)="(\/[^"]*)"/g),
  ...readFileSync(path.join(outDir, appCss), 'utf8').matchAll(/url\(\s*["']?(\/[^"')]*)/g),
].map((m) => m[1]);
for (const ref of localRefs) {
  if (!ref.startsWith(PUBLIC_PATH) || !outputs.includes(ref.slice(PUBLIC_PATH.length))) {
    problems.push(`reference to ${ref}, which is not a file of this build`);
  }
}
if (problems.length > 0) {
  fail(`output references resources outside the gateway:\n  ${problems.join('\n  ')}`);
}

// Compressed once here, at the highest levels, since the cost is paid once per build.
const COMPRESSIBLE = /\.(html|css|js|mjs|txt|json|map|svg)$/;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const file of outputs) {
  const full = path.join(outDir, file);
  const bytes = readFileSync(full);
  const sizes = [kib(bytes.length).padStart(10)];
  if (COMPRESSIBLE.test(file)) {
    const variants = {
      gz: gzipSync(bytes, { level: 9 }),
      br: brotliCompressSync(bytes, {
        params: {
          [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
          [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length,
        },
      }),
    };
    for (const [ext, compressed] of Object.entries(variants)) {
      if (compressed.length < bytes.length) {
        writeFileSync(`${full}.${ext}`, compressed);
        sizes.push(`${ext} ${kib(compressed.length)}`);
      }
    }
  }
  console.log(`  ${file.padEnd(28)} ${sizes.join('  ')}`);
}
console.log(
  `playground built into ${outDir} with ${examples.length} example tabs in ${Date.now() - started} ms`,
);
