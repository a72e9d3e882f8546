// Checks the `medledger` launcher's choice between the build and the sources (decision 0046): a
// copy of bin/ in a temporary project whose "build" and "sources" each print their name, run as a
// real process, fresh, touched, changed, broken and missing builds, and the MEDLEDGER_RUN modes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  checkNodeBuild,
  fileRecord,
  nodeBuildFormat,
  saveNodeBuildManifest,
} from '../../bin/node-build.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const folders: string[] = [];
after(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

const sourceText = "console.log('ran: source');\n";
const buildText = "console.log('ran: build');\n";

/** A project with the real launcher, a one-line "source" and "build", and a fresh manifest. */
function makeProject(): string {
  const root = mkdtempSync(join(tmpdir(), 'medledger-launcher-'));
  folders.push(root);
  for (const folder of ['bin', 'src/cli', 'src/base', 'dist/node']) {
    mkdirSync(join(root, folder), { recursive: true });
  }
  for (const file of ['medledger.js', 'node-build.js']) {
    copyFileSync(join(projectRoot, 'bin', file), join(root, 'bin', file));
  }
  // The sources run through tsx, resolved from the project's node_modules.
  symlinkSync(join(projectRoot, 'node_modules'), join(root, 'node_modules'), 'dir');
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(root, 'src/cli/main.ts'), sourceText);
  writeFileSync(join(root, 'src/base/index.ts'), 'export const unused = 1;\n');
  writeFileSync(join(root, 'dist/node/main.js'), buildText);
  saveNodeBuildManifest(root, {
    inputs: [fileRecord(root, 'src/cli/main.ts'), fileRecord(root, 'src/base/index.ts')],
    outputs: [fileRecord(root, 'dist/node/main.js')],
  });
  return root;
}

function run(root: string, mode?: string): { status: number | null; out: string; err: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MEDLEDGER_RUN;
  if (mode !== undefined) env.MEDLEDGER_RUN = mode;
  const result = spawnSync(process.execPath, [join(root, 'bin/medledger.js')], {
    env,
    encoding: 'utf8',
  });
  return { status: result.status, out: result.stdout.trim(), err: result.stderr.trim() };
}

test('a fresh build runs, with MEDLEDGER_RUN unset, auto or build; source runs the sources', () => {
  const root = makeProject();
  assert.deepEqual(checkNodeBuild(root), {
    fresh: true,
    entry: pathToFileURL(join(root, 'dist/node/main.js')),
  });
  for (const mode of [undefined, 'auto', 'build']) {
    assert.deepEqual(run(root, mode), { status: 0, out: 'ran: build', err: '' }, `mode ${mode}`);
  }
  assert.deepEqual(run(root, 'source'), { status: 0, out: 'ran: source', err: '' });
});

test('an unknown MEDLEDGER_RUN is refused with the modes it may take', () => {
  const root = makeProject();
  const result = run(root, 'fast');
  assert.equal(result.status, 2);
  assert.equal(result.out, '');
  assert.match(result.err, /MEDLEDGER_RUN must be one of auto, build, source, found "fast"/);
});

test('a source touched without a change keeps the build fresh', () => {
  const root = makeProject();
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(root, 'src/cli/main.ts'), later, later);
  assert.equal(checkNodeBuild(root).fresh, true);
  assert.equal(run(root).out, 'ran: build');
});

test('a changed source makes the build stale: auto runs the sources, build refuses', () => {
  const root = makeProject();
  // The same size: only the content (hashed once the modification time differs) tells.
  writeFileSync(join(root, 'src/base/index.ts'), 'export const unused = 2;\n');
  assert.deepEqual(checkNodeBuild(root), {
    fresh: false,
    reason: 'src/base/index.ts changed since the build',
  });
  assert.deepEqual(run(root), { status: 0, out: 'ran: source', err: '' });
  const refused = run(root, 'build');
  assert.equal(refused.status, 1);
  assert.equal(refused.out, '');
  assert.match(
    refused.err,
    /MEDLEDGER_RUN=build, but the build in dist\/node cannot run: src\/base\/index\.ts changed since the build/,
  );
});

test('a deleted source, or a build output changed after the build, is stale', () => {
  const deleted = makeProject();
  rmSync(join(deleted, 'src/base/index.ts'));
  assert.deepEqual(checkNodeBuild(deleted), {
    fresh: false,
    reason: 'src/base/index.ts is gone',
  });
  assert.equal(run(deleted).out, 'ran: source');

  const altered = makeProject();
  // Same size, same modification time: outputs are hashed every time.
  const bundle = join(altered, 'dist/node/main.js');
  const { mtime } = statSync(bundle);
  writeFileSync(bundle, buildText.replace('build', 'bvild'));
  utimesSync(bundle, mtime, mtime);
  assert.deepEqual(checkNodeBuild(altered), {
    fresh: false,
    reason: 'dist/node/main.js changed since the build',
  });
  assert.equal(run(altered).out, 'ran: source');
});

test('no manifest, an unreadable one or one of another format is no build to run', () => {
  const root = makeProject();
  const manifest = join(root, 'dist/node/build.json');
  const saved = readFileSync(manifest, 'utf8');
  const cases: [string | null, RegExp][] = [
    [null, /^no build \(dist\/node\/build\.json is missing\)$/],
    ['{ "format": ', /^dist\/node\/build\.json is not readable JSON$/],
    [
      JSON.stringify({ ...JSON.parse(saved), format: nodeBuildFormat + 1 }),
      /^dist\/node\/build\.json is not of format 1$/,
    ],
    [
      JSON.stringify({ ...JSON.parse(saved), outputs: [] }),
      /^dist\/node\/build\.json does not list the build's files$/,
    ],
  ];
  for (const [text, reason] of cases) {
    if (text === null) rmSync(manifest);
    else writeFileSync(manifest, text);
    const check = checkNodeBuild(root);
    assert.equal(check.fresh, false);
    assert.match(check.fresh ? '' : check.reason, reason);
    assert.equal(run(root).out, 'ran: source');
    assert.equal(run(root, 'build').status, 1);
  }
  writeFileSync(manifest, saved);
  assert.equal(run(root, 'build').out, 'ran: build');
});
