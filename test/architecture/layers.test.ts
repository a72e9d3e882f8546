// Checks the layer rules of DESIGN.md by reading every import in src/: allowed folders only,
// through index.ts only, no I/O, clock or randomness in the pure core, and browser-only packages
// in the browser stand-ins only.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  allowedImports,
  browserOnlyPackages,
  browserStandIns,
  pureCoreFolders,
} from '../../src/layers.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const srcRoot = join(root, 'src');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(path);
  }
  return out;
}

const importPattern =
  /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(importPattern)) found.push((match[1] ?? match[2])!);
  return found;
}

/** Finds rule violations in one file; `folder` is its top folder under src/. */
export function violationsOf(options: { file: string; folder: string; source: string }): string[] {
  const { file, folder, source } = options;
  const problems: string[] = [];
  const allowed = allowedImports[folder];
  if (allowed === undefined)
    return [`${file}: folder src/${folder} is not listed in src/layers.ts`];
  const isPure = (pureCoreFolders as readonly string[]).includes(folder);
  const isBrowserStandIn = browserStandIns[file.split(sep).join('/')] !== undefined;
  for (const specifier of importsOf(source)) {
    if (!isBrowserStandIn && browserOnlyPackages.some((prefix) => specifier.startsWith(prefix))) {
      problems.push(`${file}: only the browser stand-ins of src/layers.ts may import ${specifier}`);
    }
    if (isBrowserStandIn && specifier.startsWith('node:')) {
      problems.push(`${file}: a browser stand-in may not import ${specifier}`);
    }
    if (specifier.startsWith('.')) {
      const target = relative(srcRoot, resolve(dirname(join(srcRoot, file)), specifier));
      if (target.startsWith('..')) continue;
      const [targetFolder, ...rest] = target.split(sep);
      if (targetFolder === undefined || targetFolder === folder || rest.length === 0) continue;
      if (!allowed.includes(targetFolder)) {
        problems.push(`${file}: src/${folder} may not import src/${targetFolder}`);
      } else if (rest.join('/') !== 'index.ts') {
        problems.push(`${file}: imports ${target}; import src/${targetFolder}/index.ts instead`);
      }
    } else if (isPure) {
      const forbidden = [
        'node:fs',
        'node:net',
        'node:http',
        'node:https',
        'node:tls',
        'node:dgram',
      ];
      const forbiddenMore = ['node:child_process', 'node:worker_threads', 'node:os', 'node:timers'];
      const forbiddenDb = ['pg', 'better-sqlite3', 'lmdb', 'fastify', 'node:process', 'node:path'];
      if ([...forbidden, ...forbiddenMore, ...forbiddenDb].some((f) => specifier.startsWith(f))) {
        problems.push(`${file}: the pure core may not import ${specifier}`);
      }
    }
  }
  if (isPure) {
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    const banned: Array<[RegExp, string]> = [
      [/\bDate\b/, 'Date (time comes in as an argument)'],
      [/\bMath\.random\b/, 'Math.random (randomness comes in as an argument)'],
      [/\b(randomBytes|randomUUID|getRandomValues|randomInt|generateKeyPair\w*)\b/, 'randomness'],
      [/\b(setTimeout|setInterval|setImmediate|queueMicrotask)\b/, 'timers'],
      [/\bprocess\./, 'process (the environment comes in as an argument)'],
      [/\bperformance\.now\b/, 'a clock'],
    ];
    for (const [pattern, what] of banned) {
      if (pattern.test(code)) problems.push(`${file}: the pure core may not use ${what}`);
    }
  }
  return problems;
}

test('every folder under src/ follows the layer rules of DESIGN.md', () => {
  const problems: string[] = [];
  for (const path of listFiles(srcRoot)) {
    const file = relative(srcRoot, path);
    const parts = file.split(sep);
    if (parts.length < 2) continue; // files at src/ root (layers.ts) hold data only
    problems.push(...violationsOf({ file, folder: parts[0]!, source: readFileSync(path, 'utf8') }));
  }
  assert.deepEqual(problems, []);
});

test('every folder under src/ has a README.md and an index.ts', () => {
  const missing: string[] = [];
  for (const name of readdirSync(srcRoot)) {
    const dir = join(srcRoot, name);
    if (!statSync(dir).isDirectory()) continue;
    for (const required of ['README.md', 'index.ts']) {
      try {
        statSync(join(dir, required));
      } catch {
        missing.push(`src/${name}/${required}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});

test('the checker itself catches each kind of violation', () => {
  const cases: Array<{ folder: string; file: string; source: string; expect: RegExp }> = [
    {
      folder: 'merkle',
      file: 'merkle/x.ts',
      source: "import { foo } from '../chain/index.ts';",
      expect: /may not import src\/chain/,
    },
    {
      folder: 'chain',
      file: 'chain/x.ts',
      source: "import { foo } from '../codec/cbor.ts';",
      expect: /import src\/codec\/index\.ts instead/,
    },
    {
      folder: 'crypto',
      file: 'crypto/x.ts',
      source: "import { readFileSync } from 'node:fs';",
      expect: /pure core may not import node:fs/,
    },
    {
      folder: 'consensus',
      file: 'consensus/x.ts',
      source: 'const now = Date.now();',
      expect: /may not use Date/,
    },
    {
      folder: 'codec',
      file: 'codec/x.ts',
      source: 'const r = Math.random();',
      expect: /Math\.random/,
    },
    {
      folder: 'crypto',
      file: 'crypto/ed25519.ts',
      source: "import { ed25519 } from '@noble/curves/ed25519.js';",
      expect: /only the browser stand-ins of src\/layers\.ts may import @noble\/curves/,
    },
    {
      folder: 'api',
      file: 'api/x.ts',
      source: "import { sha256 } from '@noble/hashes/sha2.js';",
      expect: /only the browser stand-ins/,
    },
    {
      folder: 'crypto',
      file: 'crypto/sodium-browser.ts',
      source: "import { createHash } from 'node:crypto';",
      expect: /browser stand-in may not import node:crypto/,
    },
    {
      folder: 'nowhere',
      file: 'nowhere/x.ts',
      source: '',
      expect: /not listed/,
    },
  ];
  for (const { expect, ...input } of cases) {
    const problems = violationsOf(input);
    assert.equal(problems.length, 1, `${input.file}: ${JSON.stringify(problems)}`);
    assert.match(problems[0]!, expect);
  }
  assert.deepEqual(
    violationsOf({
      folder: 'chain',
      file: 'chain/x.ts',
      source: "import { a } from '../codec/index.ts';",
    }),
    [],
  );
  assert.deepEqual(
    violationsOf({
      folder: 'crypto',
      file: 'crypto/sodium-browser.ts',
      source: "import { ed25519 } from '@noble/curves/ed25519.js';",
    }),
    [],
  );
});
