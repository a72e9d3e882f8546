/**
 * The parts of a search across custodians (decision 0060) that need no node: which single
 * patient a search names, which records held by other organisations are its candidates (from
 * the chain's anchors, decided by the consent contract before anything is fetched, so nothing
 * hidden is asked for or counted), and fetching them a bounded number at a time.
 */
import { assert } from '../base/index.ts';
import type { AccessDecision, RecordVersion } from '../contracts/index.ts';

type SearchParamValues = Readonly<Record<string, readonly string[]>>;

const pseudonymPattern = /^[0-9a-f]{32}$/;

/**
 * The one patient a search is about, or null when it names none or several. The token's
 * patient (a `patient/` scope) wins; otherwise the values of `patient` and `subject` (a bare id or
 * `Patient/<id>`), and of `_id` in a Patient search, comma lists included, must all be one
 * enrolled-pseudonym-shaped id. Parameters with modifiers (`subject:Group`, `patient:missing`)
 * and absolute references never count: such a search stays on the node asked.
 */
export function searchedPatientOf(options: {
  type: string;
  params: SearchParamValues;
  /** The `patient` claim of the token (a `patient/` scope), or null. */
  confinedPatient: string | null;
}): string | null {
  if (options.confinedPatient !== null) {
    return pseudonymPattern.test(options.confinedPatient) ? options.confinedPatient : null;
  }
  const names = ['patient', 'subject', ...(options.type === 'Patient' ? ['_id'] : [])];
  const ids = new Set<string>();
  for (const name of names) {
    for (const value of options.params[name] ?? []) {
      for (const item of value.split(',')) {
        const id = name === '_id' ? item : item.replace(/^Patient\//, '');
        if (!pseudonymPattern.test(id)) return null;
        ids.add(id);
      }
    }
  }
  return ids.size === 1 ? [...ids][0]! : null;
}

/** A record held elsewhere that the requester may read, by the requester's own decision. */
export interface RemoteCandidate {
  readonly head: RecordVersion;
  readonly decision: AccessDecision;
}

/**
 * The records of `type` of one patient held by organisations other than `orgId`, active, that
 * `decideRecord` permits, the most recently anchored first, at most `candidatesMax`
 * (`truncated` when more are permitted). Denied ones are never fetched nor counted against the
 * bound (the bound's warning must not tell the requester that hidden records exist); the first
 * denial is kept for the search's audit event.
 */
export function remoteSearchCandidates(options: {
  /** The patient's record ids (hex) in the order they were first anchored. */
  recordIds: Iterable<string>;
  headOf: (recordId: string) => RecordVersion | null;
  type: string;
  orgId: string;
  decideRecord: (head: RecordVersion) => AccessDecision;
  candidatesMax: number;
}): { permitted: RemoteCandidate[]; denial: AccessDecision | null; truncated: boolean } {
  const newestFirst = [...options.recordIds].reverse();
  const permitted: RemoteCandidate[] = [];
  let denial: AccessDecision | null = null;
  for (const recordId of newestFirst) {
    const head = options.headOf(recordId);
    if (head === null || head.status !== 'active') continue;
    if (head.resourceType !== options.type || head.custodian === options.orgId) continue;
    const decision = options.decideRecord(head);
    if (decision.decision !== 'permit') {
      denial ??= decision;
      continue;
    }
    if (permitted.length === options.candidatesMax) {
      return { permitted, denial, truncated: true };
    }
    permitted.push({ head, decision });
  }
  return { permitted, denial, truncated: false };
}

/**
 * Runs `work` on every item with at most `inFlightMax` running at once and waits for all of them
 * (no promise is left floating when one fails); each result is settled in the items' order.
 */
export async function settleBounded<T, R>(
  items: readonly T[],
  inFlightMax: number,
  work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  assert(Number.isSafeInteger(inFlightMax), 'inFlightMax is an integer');
  assert(inFlightMax >= 1, 'at least one piece of work runs at a time');
  const results: PromiseSettledResult<R>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlightMax, items.length) }, worker));
  return results;
}
