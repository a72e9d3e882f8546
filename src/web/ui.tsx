/**
 * Small shared pieces of the web app: notices (errors are announced to screen readers), the
 * verified mark, dates in the reader's own words, and the loader hook every screen uses.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

import { RequestFailed } from './session.ts';

/** A message box: `error` is announced at once (role alert), the others politely. */
export function Notice(props: {
  kind: 'info' | 'success' | 'warning' | 'error';
  title?: string;
  children: ComponentChildren;
}) {
  return (
    <div class={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.title === undefined ? null : <strong class="notice-title">{props.title}</strong>}
      <div>{props.children}</div>
    </div>
  );
}

/** What a failed request means for the person who made it, in words. */
export function describeFailure(error: unknown): string {
  if (error instanceof RequestFailed) {
    if (error.status === 401) return 'Your sign-in has expired or is not valid. Sign in again.';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The state of a verification: checking, verified (with what), or failed (with why). */
export type Verification =
  | { readonly state: 'checking' }
  | { readonly state: 'verified'; readonly detail: string }
  | { readonly state: 'failed'; readonly detail: string };

/** The verified mark: computed in this browser from the chain's proofs (src/verify). */
export function VerifiedMark(props: { verification: Verification | undefined }) {
  const verification = props.verification;
  if (verification === undefined || verification.state === 'checking') {
    return (
      <span class="mark mark-checking" title="Checking the proofs in your browser">
        checking…
      </span>
    );
  }
  if (verification.state === 'verified') {
    return (
      <span class="mark mark-verified" title={verification.detail}>
        <span aria-hidden="true">✓ </span>verified
        <span class="visually-hidden">: {verification.detail}</span>
      </span>
    );
  }
  return (
    <span class="mark mark-failed" title={verification.detail}>
      <span aria-hidden="true">✗ </span>not verified
      <span class="visually-hidden">: {verification.detail}</span>
    </span>
  );
}

/** A date and time in the reader's locale (`6 Dec 2026, 14:03`). */
export function formatTime(value: string | number | undefined): string {
  if (value === undefined) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Loads `load()` on mount and when `deps` change: `{ data, error, loading, reload }`. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const run = useCallback(() => {
    setLoading(true);
    load().then(
      (value) => {
        setData(value);
        setError(null);
        setLoading(false);
      },
      (failure: unknown) => {
        setError(describeFailure(failure));
        setLoading(false);
      },
    );
  }, deps);
  useEffect(run, [run]);
  return { data, error, loading, reload: run };
}

/** A page's frame: its heading (the one h1) and content. */
export function Page(props: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · MedLedger`;
  }, [props.title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title">{props.title}</h1>
      {props.children}
    </section>
  );
}
