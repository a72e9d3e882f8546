#!/usr/bin/env node
// The `medledger` command (decision 0046). Runs the built JavaScript in `dist/node` when the
// build is fresh (every file it was made from unchanged), else the TypeScript sources through
// tsx's loader, so a stale build never runs. A node process that runs the build has no tsx
// loader thread (about 26 MB) and compiles nothing at start-up.
//
// MEDLEDGER_RUN picks: `auto` (the default, as above), `build` (the build or an error: a
// benchmark must measure what it names) or `source` (always tsx). With MEDLEDGER_DEBUG=1 the
// launcher says on stderr why it falls back to the sources.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkNodeBuild } from './node-build.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modes = ['auto', 'build', 'source'];
const mode = process.env.MEDLEDGER_RUN || 'auto';

/** @returns {Promise<void>} */
async function runSources() {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}

if (!modes.includes(mode)) {
  process.stderr.write(
    `medledger: MEDLEDGER_RUN must be one of ${modes.join(', ')}, found ${JSON.stringify(mode)}\n`,
  );
  process.exitCode = 2;
} else if (mode === 'source') {
  await runSources();
} else {
  const build = checkNodeBuild(root);
  if (build.fresh) {
    await import(build.entry.href);
  } else if (mode === 'build') {
    process.stderr.write(
      `medledger: MEDLEDGER_RUN=build, but the build in dist/node cannot run: ${build.reason} (npm run build:node makes it)\n`,
    );
    process.exitCode = 1;
  } else {
    if (process.env.MEDLEDGER_DEBUG === '1') {
      process.stderr.write(`medledger: running the sources through tsx: ${build.reason}\n`);
    }
    await runSources();
  }
}
