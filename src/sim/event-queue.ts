/**
 * The simulator's agenda: events ordered by virtual time, ties broken by insertion order, so the
 * run is a pure function of the seed. A binary heap, bounded by `simLimits.queuedEventsMax`.
 */
import { assert } from '../base/index.ts';

type Entry<T> = { readonly time: number; readonly order: number; readonly item: T };

/** A min-heap of items by (time, insertion order). */
export class EventQueue<T> {
  private readonly heap: Array<Entry<T>> = [];
  private inserted = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.heap.length;
  }

  /** Adds `item` at virtual time `time`. */
  push(time: number, item: T): void {
    assert(this.heap.length < this.capacity, 'the simulator agenda stays within its bound');
    const entry = { time, order: this.inserted++, item };
    const heap = this.heap;
    heap.push(entry);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  /** Removes and returns the earliest entry, or undefined when empty. */
  pop(): { time: number; item: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < heap.length && this.less(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.less(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === index) break;
        [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
        index = smallest;
      }
    }
    return { time: top.time, item: top.item };
  }

  private less(a: Entry<T>, b: Entry<T>): boolean {
    return a.time < b.time || (a.time === b.time && a.order < b.order);
  }
}
