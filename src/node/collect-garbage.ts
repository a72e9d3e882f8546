/**
 * One full garbage collection on demand, for the moment a node has finished starting (decision
 * 0046). Start-up leaves about 100–130 MB of garbage in the V8 heap (parsing the FHIR R4
 * definitions, compiling modules), and V8 sets its next full collection by the heap's size then,
 * so that garbage stays until the load has grown the heap further: in `npm run bench:net` a node
 * reached 311 MB resident 5 s into the first load level with 199 MB of heap in use, and fell to
 * 177 MB at its first full collection (56 MB in use). And the heap growing factor a node process
 * may be given (decision 0067).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { MedLedgerError } from '../base/index.ts';

/**
 * Runs a full, synchronous garbage collection (a pause of about 0.1–0.3 s at start-up). V8's
 * `gc` function is made visible to a fresh context only, for this call: the node's own global
 * object never gets a `gc`, and nothing else can call it.
 */
export function collectGarbageNow(): void {
  setFlagsFromString('--expose-gc');
  try {
    const gc = runInNewContext('gc') as () => void;
    gc();
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** The environment variable that sets V8's heap growing factor of a node process. */
export const heapGrowingPercentVariable = 'MEDLEDGER_HEAP_GROWING_PERCENT';

/**
 * Sets V8's heap growing factor to `1 + percent / 100` from `value` (the node process's
 * `MEDLEDGER_HEAP_GROWING_PERCENT`; nothing when it is unset or empty). V8 picks about 1.6 for a
 * node's heap, so the garbage between two full collections can reach about 60 % of what is
 * live; the demo, the tests and `bench:net` run four nodes on one machine with 20 (decision
 * 0067). Node.js refuses this flag in NODE_OPTIONS, so the node sets it as it starts, before it
 * loads anything; V8 reads it at every collection. Returns the percent set, or null; throws a
 * `MedLedgerError` naming the variable and what it found unless it is a whole number from 1 to
 * 400.
 */
export function setHeapGrowingPercent(value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  const percent = Number(value);
  if (!/^\d+$/.test(value) || percent < 1 || percent > 400) {
    throw new MedLedgerError(
      'invalid-environment',
      `${heapGrowingPercentVariable} must be a whole number of percent from 1 to 400, found ${JSON.stringify(value)}`,
    );
  }
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
