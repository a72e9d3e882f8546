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
] as const;

/** For each folder, the folders it may import (through their `index.ts` only). */
export const allowedImports: Readonly<Record<string, readonly string[]>> = {
  base: [],
  codec: ['base'],
  crypto: ['base'],
  merkle: ['base', 'crypto'],
  chain: ['base', 'codec', 'crypto', 'merkle'],
  consensus: ['base', 'codec', 'crypto', 'chain'],
  contracts: ['base', 'codec', 'crypto', 'merkle', 'chain'],
  sim: ['base', 'codec', 'crypto', 'merkle', 'chain', 'consensus', 'contracts'],
  keys: ['base', 'crypto'],
  workers: ['base', 'crypto'],
  store: ['base', 'codec', 'crypto', 'merkle', 'chain', 'contracts'],
  p2p: ['base', 'codec', 'crypto', 'chain', 'keys'],
  vault: ['base', 'codec', 'crypto', 'keys', 'store'],
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
  api: ['base', 'codec', 'crypto', 'merkle', 'chain', 'contracts', 'node', 'vault', 'keys'],
  cli: [
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
  ],
};
