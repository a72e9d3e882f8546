export { MedLedgerError, AssertionFailedError, assert } from './errors.ts';
export {
  toHex,
  fromHex,
  shortHex,
  concatBytes,
  equalBytes,
  compareBytes,
  utf8,
  fromUtf8,
} from './bytes.ts';
