// The web app's entry (issue 8): mounts the app; `npm install` bundles it into dist/web/app.js
// (scripts/build-web.ts) and each node serves it at /app/ on the same origin as its API.
import { h, render } from 'preact';

import { App } from './app.tsx';

const root = document.getElementById('app');
if (root !== null) {
  // The "Loading…" paragraph of index.html goes: Preact renders into an empty element.
  root.replaceChildren();
  render(h(App, null), root);
}
