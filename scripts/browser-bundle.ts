/**
 * Bundles a browser entry of this project (decision 0071): esbuild for `platform: browser`, with
 * `alias` swapping each Node-only module of the pure core for its browser stand-in
 * (`browserStandIns` in `src/layers.ts`), and a refusal of anything that would still need Node:
 * an import of a `node:` module or built-in (named with its importer), an import left in the
 * output, a `require(` call, or a reference to a Node global. Used by `build-verifier.ts` (the
 * verifier alone) and `build-web.ts` (the web app).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { build } from 'esbuild';
import type { Message, Metafile, Plugin } from 'esbuild';

import { browserStandIns } from '../src/layers.ts';

/** The project's root folder. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Globals that exist in Node and not in a browser. Each is `define`d to a marker identifier, which
 * esbuild substitutes only where the name is a free (global) reference, never for a local
 * variable or a property of the same name; a marker left in the output is a Node global the
 * bundle would touch. `typeof Buffer` guards are allowed.
 */
const nodeGlobals = [
  'Buffer',
  'process',
  'global',
  '__dirname',
  '__filename',
  'setImmediate',
  'clearImmediate',
];
const nodeGlobalMarker = '__medledgerNodeGlobal_';

const builtins = new Set(builtinModules);

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtins.has(specifier.split('/')[0]!);
}

/**
 * Refuses every import of a Node built-in that no stand-in replaces, naming the importer.
 * (Plugins see a specifier before esbuild applies `alias`, so the replaced ones are let through.)
 */
function refuseNodeBuiltins(replaced: ReadonlySet<string>): Plugin {
  return {
    name: 'refuse-node-builtins',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, (args) => {
        if (replaced.has(args.path) || !isNodeBuiltin(args.path)) return undefined;
        const importer = args.importer === '' ? '(entry)' : relative(root, args.importer);
        return {
          errors: [
            {
              text:
                `${importer} imports ${args.path}, a Node built-in: the browser bundle may ` +
                'import none (add a browser stand-in to src/layers.ts, or keep this code out ' +
                'of the entry)',
            },
          ],
        };
      });
    },
  };
}

/** What in the bundled text would still need Node; empty when the bundle is browser-clean. */
function nodeDependenciesOf(options: { code: string; metafile: Metafile }): string[] {
  const { code, metafile } = options;
  const problems: string[] = [];
  for (const [file, output] of Object.entries(metafile.outputs)) {
    for (const { path, kind } of output.imports) {
      problems.push(`${relative(root, file)} still imports ${path} (${kind})`);
    }
  }
  if (/(?<![\w$.])require\s*\(/.test(code)) problems.push('the bundle calls require(');
  if (/["'`]node:[a-z_/]+["'`]/.test(code)) problems.push('the bundle names a node: module');
  const used = new Set<string>();
  for (const match of code.matchAll(new RegExp(`(typeof\\s*)?${nodeGlobalMarker}(\\w+)`, 'g'))) {
    if (match[1] === undefined) used.add(match[2]!);
  }
  for (const name of used) problems.push(`the bundle refers to the Node global ${name}`);
  return problems;
}

function metafilePath(out: string): string {
  return out.replace(/\.js$/, '') + '.meta.json';
}

function removeOutputs(out: string): void {
  rmSync(out, { force: true });
  rmSync(metafilePath(out), { force: true });
}

function formatMessages(messages: readonly Message[]): string {
  return messages
    .map((message) => {
      const where = message.location
        ? `${message.location.file}:${message.location.line}:${message.location.column}: `
        : '';
      return `  ${where}${message.text}`;
    })
    .join('\n');
}

function isBuildFailure(error: unknown): error is Error & { errors: Message[] } {
  return error instanceof Error && 'errors' in error && Array.isArray(error.errors);
}

/**
 * Bundles `entry` into `out` and returns the problems found, empty on success. Nothing is written
 * unless the bundle is clean, and a failed build removes an older bundle at `out`, so that a stale
 * file is never taken for the current one.
 */
export async function bundleForBrowser(options: {
  entry: string;
  out: string;
  /** JSX in .tsx files compiles to this import source's automatic runtime (e.g. preact). */
  jsxImportSource?: string;
}): Promise<{
  problems: string[];
  bytes: number;
  gzipBytes: number;
  metafile?: Metafile;
}> {
  const { entry, out } = options;
  const alias: Record<string, string> = {};
  for (const [standIn, replaced] of Object.entries(browserStandIns)) {
    alias[replaced] = resolve(root, 'src', standIn);
  }
  const define: Record<string, string> = {};
  for (const name of nodeGlobals) define[name] = `${nodeGlobalMarker}${name}`;
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      outfile: out,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify: true,
      // Domain errors take their name from their class (`new.target.name`); minifying renames
      // classes, so without this a ChainError would reach the portal named "w".
      keepNames: true,
      metafile: true,
      alias,
      define,
      plugins: [refuseNodeBuiltins(new Set(Object.keys(alias)))],
      logLevel: 'silent',
      ...(options.jsxImportSource === undefined
        ? {}
        : { jsx: 'automatic' as const, jsxImportSource: options.jsxImportSource }),
    });
  } catch (error) {
    if (!isBuildFailure(error)) throw error;
    removeOutputs(out);
    return { problems: [formatMessages(error.errors)], bytes: 0, gzipBytes: 0 };
  }
  const output = result.outputFiles.find((file) => file.path === resolve(out));
  if (output === undefined) throw new Error(`esbuild wrote no ${out}`);
  const problems = nodeDependenciesOf({ code: output.text, metafile: result.metafile });
  if (problems.length === 0) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, output.contents);
    writeFileSync(metafilePath(out), JSON.stringify(result.metafile));
  } else {
    removeOutputs(out);
  }
  return {
    problems,
    bytes: output.contents.length,
    gzipBytes: gzipSync(output.contents).length,
    metafile: result.metafile,
  };
}
