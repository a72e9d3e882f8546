// The public surface of crypto/: SHA-256 and tagged hashing, Ed25519, X25519 (see README.md).
export {
  hashBytes,
  type Hash,
  HashPrefix,
  hashTagBytesMax,
  sha256,
  sha256Into,
  sha256Node,
  sha256Prefixed,
  hashTagged,
} from './hash.ts';
export {
  ed25519PublicKeyBytes,
  ed25519SeedBytes,
  ed25519SignatureBytes,
  type Ed25519KeyPair,
  ed25519KeyPairFromSeed,
  ed25519Sign,
  ed25519Verify,
  isEd25519PublicKey,
  assertEd25519PublicKey,
} from './ed25519.ts';
export {
  x25519PublicKeyBytes,
  x25519PrivateKeyBytes,
  x25519SharedSecretBytes,
  type X25519KeyPair,
  x25519KeyPairFromSeed,
  x25519SharedSecret,
} from './x25519.ts';
export { CryptoError, CryptoErrorCode } from './errors.ts';
