// The public surface of keys/: key files on disk (mode 0600) and new key pairs (see README.md).
export { generateEd25519KeyPair, generateX25519KeyPair } from './generate-key-pair.ts';
export { saveKeyFile, keyFileMode, keyDirectoryMode } from './save-key-file.ts';
export { loadKeyFile, loadEd25519KeyFile, loadX25519KeyFile } from './load-key-file.ts';
export { saveSecretFile, readSecretFile } from './secret-file.ts';
export {
  keyFileKind,
  keyFileVersion,
  keyFileBytesMax,
  type KeyFileAlgorithm,
  type KeyFileKey,
  type LoadedKey,
} from './key-file-format.ts';
export { KeyFileError, KeyFileErrorCode } from './errors.ts';
