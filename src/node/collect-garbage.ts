/**
 * One full garbage collection on demand, for the moment a node has finished starting (decision
 * 0046). Start-up leaves about 100–130 MB of garbage in the V8 heap (parsing the FHIR R4
 * definitions, compiling modules), and V8 sets its next full collection by the heap's size then,
 * so that garbage stays until the load has grown the heap further: in `npm run bench:net` a node
 * reached 311 MB resident 5 s into the first load level with 199 MB of heap in use, and fell to
 * 177 MB at its first full collection (56 MB in use).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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
