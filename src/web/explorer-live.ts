/**
 * The explorer's live view of this node: one refresh reads the status and the signed head, then
 * only the blocks of the window it does not hold yet (committed blocks never change, so each is
 * fetched once). The next refresh is scheduled when one ends, never on a fixed clock, so slow
 * answers can never pile requests up; refreshes stop while paused or while the tab is hidden.
 * Every request goes to this node's own origin.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

import {
  type BlockSummary,
  type SignedHeadJson,
  type StatusJson,
  explorerLimits,
  heightsToFetch,
  readBlock,
  readSignedHead,
  readStatus,
} from './explorer-data.ts';
import { call } from './session.ts';
import { describeFailure } from './ui.tsx';

/** What the explorer shows of the chain at the last refresh. */
export interface ChainView {
  readonly status: StatusJson;
  /** Null before the first block. */
  readonly head: SignedHeadJson | null;
  /** The window's blocks, oldest first. */
  readonly blocks: readonly BlockSummary[];
  /** When this view was read (Unix ms, the browser's clock). */
  readonly readAt: number;
}

/** Reads one committed block. */
export async function fetchBlock(height: number): Promise<BlockSummary> {
  return readBlock(await call<unknown>(`/chain/blocks/${height}`));
}

/** Runs `work` over `items` with at most `limit` at a time; results in the order of `items`. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** One refresh: reads what changed since `held` and returns the new view and window. */
async function refresh(held: Map<number, BlockSummary>): Promise<ChainView> {
  const status = readStatus(await call<unknown>('/chain/status'));
  // The signed head exists from block 1; asking earlier would only be refused.
  const head =
    status.height >= 1 ? readSignedHead(await call<unknown>('/chain/proofs/head')) : null;
  const top = Math.max(status.height, head?.height ?? 0);
  const missing = heightsToFetch({
    head: top,
    held: new Set(held.keys()),
    windowBlocks: explorerLimits.windowBlocks,
  });
  const fetched = await mapBounded(missing, explorerLimits.blockFetchConcurrencyMax, fetchBlock);
  for (const block of fetched) held.set(block.height, block);
  for (const height of held.keys()) {
    if (height <= top - explorerLimits.windowBlocks) held.delete(height);
  }
  const blocks = [...held.values()].sort((a, b) => a.height - b.height);
  return { status, head, blocks, readAt: Date.now() };
}

/** `document.hidden`, kept current. */
function useHidden(): boolean {
  const [hidden, setHidden] = useState(document.hidden);
  useEffect(() => {
    const onChange = () => setHidden(document.hidden);
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  return hidden;
}

/**
 * The live chain view: `{ view, error }`. While `paused` (or the tab is hidden) no
 * request is made; the view kept is the last one read. A failed refresh keeps the last view and
 * says why; the next one is tried after the usual interval.
 */
export function useChainView(paused: boolean) {
  const held = useRef(new Map<number, BlockSummary>());
  // A refresh still running when the effect restarts (pause and resume) is waited for, so two
  // never run at once.
  const running = useRef<Promise<unknown>>(Promise.resolve());
  const [view, setView] = useState<ChainView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hidden = useHidden();

  useEffect(() => {
    if (paused || hidden) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        await running.current;
        if (stopped) return;
        const pending = refresh(held.current);
        running.current = pending.catch(() => undefined);
        const next = await pending;
        if (stopped) return;
        setView(next);
        setError(null);
      } catch (failure) {
        if (stopped) return;
        setError(describeFailure(failure));
      } finally {
        if (!stopped) timer = setTimeout(() => void tick(), explorerLimits.refreshIntervalMs);
      }
    };
    void tick();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [paused, hidden]);

  return { view, error };
}
