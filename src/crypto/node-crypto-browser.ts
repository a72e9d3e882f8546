/**
 * Browser stand-in for the three `node:crypto` functions `x25519.ts` imports. The browser
 * verifier checks hashes, proofs and Ed25519 signatures; it never agrees keys, so X25519 is not
 * offered there: each function throws `BrowserUnavailableError` instead of pretending.
 * `scripts/build-verifier.ts` swaps this file in for `node:crypto` (esbuild `alias`, listed in
 * `src/layers.ts`); Node never loads it. Bundles that tree-shake X25519 away (the verifier's)
 * contain none of this file; one that keeps X25519 also keeps its `Buffer` calls, and the build
 * script refuses it for referring to a Node global (decision 0071).
 */
import { MedLedgerError } from '../base/index.ts';

/** Codes of `BrowserUnavailableError`. */
export const BrowserUnavailableErrorCode = {
  /** The function needs `node:crypto`, which the browser build replaces with this file. */
  unavailableInBrowser: 'unavailable-in-browser',
} as const;

/** One of the `BrowserUnavailableErrorCode` values. */
export type BrowserUnavailableErrorCode =
  (typeof BrowserUnavailableErrorCode)[keyof typeof BrowserUnavailableErrorCode];

/** A primitive the browser build does not include was called. */
export class BrowserUnavailableError extends MedLedgerError<BrowserUnavailableErrorCode> {}

function unavailable(name: string): never {
  throw new BrowserUnavailableError(
    BrowserUnavailableErrorCode.unavailableInBrowser,
    `X25519 is not available in the browser build: node:crypto ${name} was called, but the ` +
      'browser verifier only hashes and verifies Ed25519 signatures (decision 0071)',
    { function: name },
  );
}

/** Stands in for `node:crypto` `createPrivateKey`; always throws `BrowserUnavailableError`. */
export function createPrivateKey(..._args: readonly unknown[]): never {
  return unavailable('createPrivateKey');
}

/** Stands in for `node:crypto` `createPublicKey`; always throws `BrowserUnavailableError`. */
export function createPublicKey(..._args: readonly unknown[]): never {
  return unavailable('createPublicKey');
}

/** Stands in for `node:crypto` `diffieHellman`; always throws `BrowserUnavailableError`. */
export function diffieHellman(..._args: readonly unknown[]): never {
  return unavailable('diffieHellman');
}
