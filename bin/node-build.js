// The built server code (decision 0046): `scripts/build-node.ts` bundles `src/cli/main.ts` into
// `dist/node/main.js` and writes `dist/node/build.json`, a manifest of every file the bundle was
// made from (and of the files it wrote) with its size, modification time and SHA-256.
// `medledger` runs the bundle only when every one of those files still has the recorded content;
// otherwise it runs the TypeScript sources through tsx, so a stale build never runs.
//
// Plain JavaScript with no dependency: the launcher loads it before anything else.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where the build lives, relative to the project's root folder. */
export const nodeBuildFolder = join('dist', 'node');
/** The bundle's entry (the CLI), relative to the build folder. */
export const nodeBuildEntry = 'main.js';
/** The manifest, relative to the build folder. */
export const nodeBuildManifest = 'build.json';
/** The manifest's format; a manifest of another format is stale. */
export const nodeBuildFormat = 1;

/**
 * The record of one file of a build, `path` relative to `root`. Its size and modification time
 * are taken before its content is read, so a change made while it is read leaves a record that
 * no longer matches the file (stale) rather than one that matches a content the build never saw.
 * `content`, when given, is what the build read or wrote (the file is not read again).
 * @param {string} root
 * @param {string} file absolute, or relative to `root`
 * @param {Uint8Array} [content]
 * @returns {{ path: string, bytes: number, mtimeMs: number, sha256: string }}
 */
export function fileRecord(root, file, content) {
  const absolute = resolve(root, file);
  const { size, mtimeMs } = statSync(absolute);
  const bytes = content ?? readFileSync(absolute);
  return {
    path: relative(root, absolute),
    bytes: content === undefined ? size : bytes.byteLength,
    mtimeMs,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

/** @param {string} file */
function sha256File(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Why the recorded file no longer has its recorded content, or null when it has. An input's
 * content is hashed only when its size or modification time differ, so a check of an unchanged
 * tree costs one `stat` per file, and a file touched without a change (a checkout, an editor's
 * save of the same text) is still fresh. An output is always hashed (a few ms for the
 * bundle): two builds running at once may each rename their files over the other's, and only
 * the content tells which build a file came from.
 * @param {string} root
 * @param {{ path: string, bytes: number, mtimeMs: number, sha256: string }} recorded
 * @param {{ alwaysHash: boolean }} options
 * @returns {string | null}
 */
function changeOf(root, recorded, options) {
  const file = join(root, recorded.path);
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return `${recorded.path} is gone`;
  }
  if (stat.size !== recorded.bytes) return `${recorded.path} changed since the build`;
  if (!options.alwaysHash && stat.mtimeMs === recorded.mtimeMs) return null;
  let sha256;
  try {
    sha256 = sha256File(file);
  } catch {
    return `${recorded.path} cannot be read`;
  }
  return sha256 === recorded.sha256 ? null : `${recorded.path} changed since the build`;
}

/**
 * @param {unknown} value
 * @returns {value is { path: string, bytes: number, mtimeMs: number, sha256: string }}
 */
function isFileRecord(value) {
  if (typeof value !== 'object' || value === null) return false;
  const record = /** @type {Record<string, unknown>} */ (value);
  return (
    typeof record.path === 'string' &&
    record.path.length > 0 &&
    typeof record.bytes === 'number' &&
    typeof record.mtimeMs === 'number' &&
    typeof record.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(record.sha256)
  );
}

/**
 * Whether the build under `root` may run: `{ fresh: true, entry }` (a file URL of the bundle's
 * entry) when the manifest exists, has this format, and every input and output it lists still
 * has its recorded content; otherwise `{ fresh: false, reason }`, the first reason found.
 * @param {string} root the project's root folder
 * @returns {{ fresh: true, entry: URL } | { fresh: false, reason: string }}
 */
export function checkNodeBuild(root) {
  const folder = join(root, nodeBuildFolder);
  const manifestFile = join(folder, nodeBuildManifest);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch (error) {
    const code = /** @type {{ code?: unknown }} */ (error).code;
    return {
      fresh: false,
      reason:
        code === 'ENOENT'
          ? `no build (${join(nodeBuildFolder, nodeBuildManifest)} is missing)`
          : `${join(nodeBuildFolder, nodeBuildManifest)} is not readable JSON`,
    };
  }
  if (typeof manifest !== 'object' || manifest === null || manifest.format !== nodeBuildFormat) {
    return {
      fresh: false,
      reason: `${join(nodeBuildFolder, nodeBuildManifest)} is not of format ${nodeBuildFormat}`,
    };
  }
  const { inputs, outputs } = manifest;
  if (
    !Array.isArray(inputs) ||
    !Array.isArray(outputs) ||
    inputs.length === 0 ||
    !inputs.every(isFileRecord) ||
    !outputs.every(isFileRecord) ||
    !outputs.some((output) => output.path === join(nodeBuildFolder, nodeBuildEntry))
  ) {
    return {
      fresh: false,
      reason: `${join(nodeBuildFolder, nodeBuildManifest)} does not list the build's files`,
    };
  }
  for (const recorded of inputs) {
    const change = changeOf(root, recorded, { alwaysHash: false });
    if (change !== null) return { fresh: false, reason: change };
  }
  for (const recorded of outputs) {
    const change = changeOf(root, recorded, { alwaysHash: true });
    if (change !== null) return { fresh: false, reason: change };
  }
  return { fresh: true, entry: pathToFileURL(join(folder, nodeBuildEntry)) };
}

/**
 * Writes the manifest of a build (records made by `fileRecord`). Written last, and atomically (a
 * temporary file renamed over the old one): a launcher that reads it while a build runs sees the
 * old manifest or the new one, complete.
 * @param {string} root the project's root folder
 * @param {{ inputs: readonly ReturnType<typeof fileRecord>[], outputs: readonly ReturnType<typeof fileRecord>[] }} records
 */
export function saveNodeBuildManifest(root, records) {
  /** @param {{ path: string }} x @param {{ path: string }} y */
  const byPath = (x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);
  const manifest = {
    format: nodeBuildFormat,
    inputs: [...records.inputs].sort(byPath),
    outputs: [...records.outputs].sort(byPath),
  };
  const file = join(root, nodeBuildFolder, nodeBuildManifest);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(manifest, null, 1)}\n`);
  renameSync(temporary, file);
}
