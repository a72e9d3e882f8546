export {
  hashBytes,
  type Hash,
  HashPrefix,
  hashTagBytesMax,
  sha256,
  sha256Node,
  sha256Prefixed,
  hashTagged,
} from './hash.ts';
