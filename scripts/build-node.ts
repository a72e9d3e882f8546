/**
 * Builds the server code (decision 0046): `src/cli/main.ts` and everything it imports bundled by
 * esbuild into one ES module, `dist/node/main.js`, with every package left external (loaded from
 * `node_modules` at run time, as under tsx), the verifier thread's script beside it
 * (`dist/node/verify-worker.js`), and the manifest `dist/node/build.json` that lets
 * `bin/medledger.js` run the bundle only while every file it was made from is unchanged.
 * Runs on `npm install` / `npm ci` (the `prepare` script) and as `npm run build:node`.
 *
 * The bundle sits two folders below the root, as `src/cli/*.ts` and `src/workers/*.ts` do, so
 * the paths the code resolves against `import.meta.url` (`../../bin/medledger.js`,
 * `../../dist/web`, `./verify-worker.js`) name the same files from the sources and from the
 * bundle; `checkImportMetaPaths` refuses a build where one would not.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, relative, resolve } from 'node:path';

import { build } from 'esbuild';
import type { Plugin } from 'esbuild';

import {
  type NodeBuildFileRecord,
  fileRecord,
  nodeBuildEntry,
  nodeBuildFolder,
  nodeBuildManifest,
  saveNodeBuildManifest,
} from '../bin/node-build.js';
import { root } from './browser-bundle.ts';

const out = join(root, nodeBuildFolder);
const entry = join(root, 'src', 'cli', 'main.ts');
const workerSource = join(root, 'src', 'workers', 'verify-worker.js');
const workerOut = join(out, 'verify-worker.js');
/** Files that shape the bundle without being in it. */
const configInputs = ['tsconfig.json', 'scripts/build-node.ts', 'bin/node-build.js'];

function pick(stat: { size: number; mtimeMs: number }): { bytes: number; mtimeMs: number } {
  return { bytes: stat.size, mtimeMs: stat.mtimeMs };
}

/**
 * The `import.meta.url`-relative paths of the server code, each with the folder of the source
 * file that resolves it: the bundle resolves them from `dist/node` instead, which must name the
 * same file.
 */
const importMetaPaths = [
  { from: 'src/cli', path: '../../bin/medledger.js' },
  { from: 'src/cli', path: '../../dist/web' },
  { from: 'src/workers', path: './verify-worker.js' },
];

function checkImportMetaPaths(bundle: string): string[] {
  const problems: string[] = [];
  for (const { from, path } of importMetaPaths) {
    if (!bundle.includes(`'${path}'`) && !bundle.includes(`"${path}"`)) {
      problems.push(`the bundle no longer resolves '${path}' (update build-node.ts)`);
    }
    const fromSources = resolve(root, from, path);
    const fromBundle = resolve(out, path);
    if (fromSources !== fromBundle && fromBundle !== workerOut) {
      problems.push(
        `'${path}' names ${relative(root, fromSources)} from ${from} but ${relative(root, fromBundle)} from ${nodeBuildFolder}`,
      );
    }
  }
  return problems;
}

/**
 * Loads every source file itself and records exactly the content esbuild compiles (size and
 * modification time taken first, see `fileRecord`): a file edited during the build leaves a
 * record that no longer matches it, so the build is stale at once rather than fresh and wrong.
 */
function recordInputs(records: NodeBuildFileRecord[]): Plugin {
  return {
    name: 'record-inputs',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.(ts|js)$/ }, (args) => {
        const { size, mtimeMs } = statSync(args.path);
        const contents = readFileSync(args.path);
        const record = fileRecord(root, args.path, contents);
        records.push({ ...record, ...pick({ size, mtimeMs }) });
        return { contents, loader: extname(args.path) === '.ts' ? 'ts' : 'js' };
      });
    },
  };
}

async function main(): Promise<number> {
  const entryOut = join(out, nodeBuildEntry);
  // Files that shape the bundle without being in it, recorded before it is built.
  const inputs = configInputs.map((file) => fileRecord(root, file));
  const result = await build({
    plugins: [recordInputs(inputs)],
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: entryOut,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // Error classes name themselves after their class (`new.target.name`); keep the names
    // esbuild would otherwise change when two modules declare the same one.
    keepNames: true,
    // For `node --enable-source-maps`: stack traces that name the TypeScript files.
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'warning',
    banner: { js: '// Built by scripts/build-node.ts from src/ (decision 0046); do not edit.' },
  });
  const bundle = result.outputFiles.find((file) => file.path === entryOut);
  if (bundle === undefined) throw new Error(`build-node: esbuild wrote no ${entryOut}`);
  const problems = checkImportMetaPaths(bundle.text);
  if (problems.length > 0) {
    process.stderr.write(`build-node: ${problems.join('\n  ')}\n`);
    return 1;
  }
  mkdirSync(out, { recursive: true });
  // Each file is written under a temporary name and renamed, the entry last but the manifest: a
  // node starting meanwhile runs a whole old or a whole new file, and only while the old
  // manifest still matches its sources.
  const place = (file: string, write: (temporary: string) => void): void => {
    const temporary = `${file}.${process.pid}.tmp`;
    write(temporary);
    renameSync(temporary, file);
  };
  const workerStat = statSync(workerSource);
  const worker = readFileSync(workerSource);
  inputs.push({ ...fileRecord(root, workerSource, worker), ...pick(workerStat) });
  place(workerOut, (temporary) => writeFileSync(temporary, worker));
  for (const file of result.outputFiles.filter((output) => output !== bundle)) {
    place(file.path, (temporary) => writeFileSync(temporary, file.contents));
  }
  place(entryOut, (temporary) => writeFileSync(temporary, bundle.contents));
  const modules = Object.keys(result.metafile.inputs).length;
  if (modules !== inputs.length - configInputs.length - 1) {
    throw new Error(`build-node: esbuild read ${modules} modules, ${inputs.length} recorded`);
  }
  saveNodeBuildManifest(root, {
    inputs,
    outputs: [fileRecord(root, entryOut, bundle.contents), fileRecord(root, workerOut, worker)],
  });
  process.stdout.write(
    `build-node: ${relative(process.cwd(), out) || '.'}: ${nodeBuildEntry} from ${modules} modules, ${bundle.contents.byteLength} bytes; ${nodeBuildManifest} written\n`,
  );
  return 0;
}

process.exitCode = await main();
