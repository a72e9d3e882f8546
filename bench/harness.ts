/**
 * A small benchmark harness: each figure is the median of several timed runs, printed as one
 * line `name value unit`. Figures are printed, never asserted: these machines are shared and
 * noisy (README "Standards").
 */
import { performance } from 'node:perf_hooks';

/** Runs of each measurement; the median is reported. */
export const benchRunCount = 5;

/** The median of `values` (which must not be empty). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Median rate in operations per second: `run` performs `operations` operations per call and is
 * called `benchRunCount` times after one warm-up call.
 */
export function measureRate(options: { operations: number; run: () => void }): number {
  options.run();
  const rates: number[] = [];
  for (let i = 0; i < benchRunCount; i++) {
    const start = performance.now();
    options.run();
    const seconds = (performance.now() - start) / 1000;
    rates.push(options.operations / seconds);
  }
  return median(rates);
}

/** Like `measureRate` for asynchronous work. */
export async function measureRateAsync(options: {
  operations: number;
  run: () => Promise<void>;
}): Promise<number> {
  await options.run();
  const rates: number[] = [];
  for (let i = 0; i < benchRunCount; i++) {
    const start = performance.now();
    await options.run();
    const seconds = (performance.now() - start) / 1000;
    rates.push(options.operations / seconds);
  }
  return median(rates);
}

/** Prints one figure: `name value unit`, the value rounded for reading. */
export function report(name: string, value: number, unit: string): void {
  const shown = value >= 100 ? Math.round(value).toString() : value.toFixed(2);
  console.log(`${name.padEnd(62)} ${shown.padStart(12)} ${unit}`);
}
