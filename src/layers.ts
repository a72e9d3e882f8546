/**
 * The layer rules of DESIGN.md as data: which folder under `src/` may import which, and which
 * folders form the pure core. `test/layers.test.ts` enforces them on every run.
 */

/** Folders of the pure core: no I/O, no clock, no randomness (DESIGN.md "Layers"). */
export const pureCoreFolders = [
  'base',
  'codec',
  'crypto',
  'merkle',
  'chain',
  'consensus',
  'contracts',
  'verify',
] as const;

/**
 * Browser stand-ins: files of the pure core that `scripts/build-verifier.ts` swaps in, at bundle
 * time only (esbuild `alias`), for the Node-only module each replaces (decision 0071). Only they
 * may import `browserOnlyPackages`, so that Node code decides validity with libsodium alone
 * (src/crypto/README.md), and they may import no `node:` module.
 */
export const browserStandIns: Readonly<Record<string, string>> = {
  'crypto/sodium-browser.ts': 'sodium-native',
  'crypto/node-crypto-browser.ts': 'node:crypto',
};

/** Package name prefixes that only the browser stand-ins may import. */
export const browserOnlyPackages = ['@noble/'] as const;

/** For each folder, the folders it may import (through their `index.ts` only). */
export const allowedImports: Readonly<Record<string, readonly string[]>> = {
  base: [],
  codec: ['base'],
  crypto: ['base'],
  merkle: ['base', 'crypto'],
  chain: ['base', 'codec', 'crypto', 'merkle'],
  consensus: ['base', 'codec', 'crypto', 'chain'],
  contracts: ['base', 'codec', 'crypto', 'merkle', 'chain'],
  verify: ['base', 'codec', 'crypto', 'merkle', 'chain', 'contracts'],
  web: ['base', 'codec', 'crypto', 'merkle', 'chain', 'contracts', 'verify'],
  proofs: ['base', 'codec', 'crypto', 'merkle', 'chain', 'contracts', 'verify'],
  sim: ['base', 'codec', 'crypto', 'merkle', 'chain', 'consensus', 'contracts'],
  keys: ['base', 'crypto'],
  workers: ['base', 'crypto'],
  store: ['base', 'codec', 'crypto', 'merkle', 'chain', 'contracts'],
  p2p: ['base', 'codec', 'crypto', 'chain', 'keys'],
  vault: ['base', 'codec', 'crypto', 'keys', 'store'],
  fhir: ['base', 'crypto', 'contracts'],
  auth: ['base', 'crypto', 'keys'],
  synthetic: ['base', 'fhir'],
  records: ['base', 'codec', 'crypto', 'chain', 'contracts', 'node', 'vault', 'fhir', 'auth'],
  node: [
    'base',
    'codec',
    'crypto',
    'merkle',
    'chain',
    'consensus',
    'contracts',
    'keys',
    'workers',
    'store',
    'p2p',
    'vault',
  ],
  api: [
    'verify',
    'proofs',
    'base',
    'codec',
    'crypto',
    'merkle',
    'chain',
    'contracts',
    'node',
    'vault',
    'keys',
    'fhir',
    'auth',
  ],
  cli: [
    'verify',
    'proofs',
    'base',
    'codec',
    'crypto',
    'merkle',
    'chain',
    'consensus',
    'contracts',
    'keys',
    'workers',
    'store',
    'p2p',
    'vault',
    'node',
    'api',
    'sim',
    'fhir',
    'auth',
    'synthetic',
    'records',
  ],
};
