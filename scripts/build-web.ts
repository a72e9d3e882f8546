/**
 * Builds the web app (issue 8) into `dist/web`: `app.js` (src/web bundled for the browser with
 * Preact's JSX runtime and the pure core's browser stand-ins, decision 0071), `app.css` and
 * `index.html` copied. Runs on `npm install` / `npm ci` (the `prepare` script) and as
 * `npm run build:web`; the node serves the folder at `/app/`. Exit 1 with the problems when the
 * bundle would need Node.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';

import { bundleForBrowser, root } from './browser-bundle.ts';

const out = join(root, 'dist', 'web');
const source = join(root, 'src', 'web');

async function main(): Promise<number> {
  mkdirSync(out, { recursive: true });
  const { problems, bytes, gzipBytes } = await bundleForBrowser({
    entry: join(source, 'index.ts'),
    out: join(out, 'app.js'),
    jsxImportSource: 'preact',
  });
  if (problems.length > 0) {
    process.stderr.write(
      `build-web: src/web cannot run in a browser:\n  ${problems.join('\n  ')}\n`,
    );
    return 1;
  }
  for (const file of ['index.html', 'app.css']) copyFileSync(join(source, file), join(out, file));
  process.stdout.write(
    `build-web: ${relative(process.cwd(), out) || '.'}: app.js ${bytes} bytes minified, ${gzipBytes} gzipped\n`,
  );
  return 0;
}

process.exitCode = await main();
