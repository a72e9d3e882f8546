/**
 * Bundles the offline verifier for the browser (issue 7, decision 0071): one ES module with no
 * Node-only dependency, which the patient portal loads to show its verified mark.
 *
 *   npm run build:verifier -- [--entry src/verify/index.ts] [--out dist/web/verifier.js]
 *
 * esbuild bundles the entry for `platform: browser`, and its `alias` swaps each Node-only module
 * of the pure core for its browser stand-in (`browserStandIns` in `src/layers.ts`:
 * `sodium-native` → `src/crypto/sodium-browser.ts`, `node:crypto` →
 * `src/crypto/node-crypto-browser.ts`). Node code is untouched: the swap exists only here.
 *
 * The build fails (exit 1) when anything in the bundle would still need Node: an import of a
 * `node:` module or a Node built-in (named with the file that imports it), an import left in the
 * output, a `require(` call, or a reference to a Node global (`Buffer`, `process`, …). On
 * success it prints the bundle's size; the esbuild metafile is written beside the bundle
 * (`<out>.meta.json`, for `esbuild --analyze` or esbuild.github.io/analyze).
 */
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { bundleForBrowser, root } from './browser-bundle.ts';

const defaultEntry = 'src/verify/index.ts';
const defaultOut = 'dist/web/verifier.js';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      entry: { type: 'string', default: defaultEntry },
      out: { type: 'string', default: defaultOut },
    },
  });
  const entry = resolve(values.entry);
  const out = values.out === defaultOut ? resolve(root, defaultOut) : resolve(values.out);
  const { problems, bytes, gzipBytes, metafile } = await bundleForBrowser({ entry, out });
  if (problems.length > 0) {
    process.stderr.write(
      `build-verifier: ${relative(root, entry)} cannot run in a browser:\n` +
        problems
          .map((problem) => (problem.startsWith('  ') ? problem : `  ${problem}`))
          .join('\n') +
        '\n',
    );
    return 1;
  }
  const inputs = Object.values(metafile!.outputs).flatMap((output) =>
    Object.entries(output.inputs),
  );
  const largest = inputs
    .sort(([, a], [, b]) => b.bytesInOutput - a.bytesInOutput)
    .slice(0, 5)
    .map(([path, input]) => `${path} ${input.bytesInOutput}`)
    .join(', ');
  const noble = inputs
    .filter(([path]) => path.includes('node_modules/@noble/'))
    .reduce((sum, [, input]) => sum + input.bytesInOutput, 0);
  const shown = relative(process.cwd(), out).startsWith('..') ? out : relative(process.cwd(), out);
  process.stdout.write(
    `build-verifier: ${shown}: ${bytes} bytes minified, ${gzipBytes} gzipped, from ` +
      `${relative(root, entry)} (@noble: ${noble} bytes; largest: ${largest})\n`,
  );
  return 0;
}

process.exitCode = await main();
