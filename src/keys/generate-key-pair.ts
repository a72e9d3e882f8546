/**
 * New key pairs from the operating system's CSPRNG. The randomness lives here, in the shell:
 * `crypto/` only derives key pairs from seeds it is given (DESIGN.md "Layers").
 */
import { randomBytes } from 'node:crypto';

import {
  ed25519KeyPairFromSeed,
  ed25519SeedBytes,
  x25519KeyPairFromSeed,
  x25519PrivateKeyBytes,
} from '../crypto/index.ts';
import type { Ed25519KeyPair, X25519KeyPair } from '../crypto/index.ts';

/** A new Ed25519 key pair (RFC 8032 §5.1.5) from 32 bytes of `crypto.randomBytes`. */
export function generateEd25519KeyPair(): Ed25519KeyPair {
  const seed = randomBytes(ed25519SeedBytes);
  try {
    return ed25519KeyPairFromSeed(seed);
  } finally {
    seed.fill(0);
  }
}

/** A new X25519 key pair (RFC 7748 §6.1) from 32 bytes of `crypto.randomBytes`. */
export function generateX25519KeyPair(): X25519KeyPair {
  const privateKey = randomBytes(x25519PrivateKeyBytes);
  try {
    return x25519KeyPairFromSeed(privateKey);
  } finally {
    privateKey.fill(0);
  }
}
