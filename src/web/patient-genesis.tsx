/**
 * What the portal's verified marks rest on, said on the page: the genesis document they are
 * checked against (its chain, hash and where it came from), a way to use one's own copy, and the
 * mark itself with a state a test can read (`data-testid="verified-mark"`, `data-state`).
 */
import { useEffect, useState } from 'preact/hooks';

import { type GenesisState, type Mark, forgetGenesis, trustGenesisFile } from './patient-verify.ts';
import { Notice, VerifiedMark, describeFailure, formatTime } from './ui.tsx';

/** A verified mark; `unchecked` is shown as a neutral "not checked" with its reason. */
export function PatientMark(props: { mark: Mark | undefined }) {
  const mark = props.mark;
  const state = mark?.state ?? 'checking';
  return (
    <span class="patient-mark" data-testid="verified-mark" data-state={state}>
      {mark?.state === 'unchecked' ? (
        <span class="mark mark-checking" title={mark.detail}>
          not checked<span class="visually-hidden">: {mark.detail}</span>
        </span>
      ) : (
        <VerifiedMark verification={mark} />
      )}
    </span>
  );
}

/** Resolves `load` into a mark (re-run when `key` changes). */
export function useMark(load: (() => Promise<Mark>) | null, key: string): Mark | undefined {
  const [mark, setMark] = useState<Mark | undefined>(undefined);
  useEffect(() => {
    if (load === null) return undefined;
    let live = true;
    setMark(undefined);
    load().then(
      (value) => {
        if (live) setMark(value);
      },
      (error: unknown) => {
        if (live) setMark({ state: 'failed', detail: describeFailure(error) });
      },
    );
    return () => {
      live = false;
    };
  }, [key]);
  return mark;
}

/** The mark to show while there is no genesis to check against. */
export function markWithoutGenesis(genesis: GenesisState): Mark | undefined {
  if (genesis.state === 'unavailable') {
    return { state: 'unchecked', detail: `no genesis document to check against: ${genesis.why}` };
  }
  return undefined;
}

/** The explanation of the marks and the genesis they trust. */
export function GenesisPanel(props: {
  genesis: GenesisState;
  chainId: string | null;
  onChange: () => void;
}) {
  const { genesis, chainId } = props;
  const [error, setError] = useState<string | null>(null);

  const choose = async (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (file === undefined || chainId === null) return;
    setError(null);
    try {
      await trustGenesisFile(chainId, file);
      props.onChange();
    } catch (failure) {
      setError(`That file was not used: ${describeFailure(failure)}`);
    } finally {
      input.value = '';
    }
  };
  const reset = () => {
    if (chainId === null) return;
    forgetGenesis(chainId);
    props.onChange();
  };

  return (
    <section class="patient-genesis" aria-labelledby="genesis-title" data-testid="genesis-trust">
      <h2 id="genesis-title" class="visually-hidden">
        How the verified marks are checked
      </h2>
      {genesis.state === 'loading' ? (
        <p class="hint">Getting the ledger’s genesis document to check the proofs against…</p>
      ) : null}
      {genesis.state === 'unavailable' ? (
        <Notice kind="warning" title="Verified marks are not available">
          The marks could not be checked: {genesis.why}.
        </Notice>
      ) : null}
      {genesis.state === 'ready' ? (
        <p class="hint patient-genesis-line">
          <strong>Verified marks</strong> are checked in your browser against the genesis document{' '}
          <code class="patient-hash">{genesis.trust.hash.slice(0, 12)}…</code>{' '}
          {genesis.trust.source === 'node' ? '(from this node).' : '(from your own file).'}
        </p>
      ) : null}
      {genesis.state === 'ready' && genesis.warning !== null ? (
        <Notice kind="warning" title="The genesis document changed">
          {genesis.warning}
        </Notice>
      ) : null}
      {error === null ? null : <Notice kind="error">{error}</Notice>}
      {genesis.state === 'loading' || chainId === null ? null : (
        <details class="patient-genesis-more">
          <summary>How the marks are checked</summary>
          {genesis.state === 'ready' ? (
            <>
              <p class="hint">
                Each mark is computed in your browser, with the same verifier as{' '}
                <code>medledger verify</code>, from the ledger’s proofs: the validators’ signatures
                on each block, back to the genesis document of chain{' '}
                <code>{genesis.trust.chainId}</code>, and the Merkle proofs of each record, consent
                and log entry. It then compares what the proofs say with what this page shows. A
                record’s content is protected by a salted hash that only its holder can recompute.
              </p>
              <p class="hint">
                The genesis document was{' '}
                {genesis.trust.source === 'node'
                  ? `fetched from this node on ${formatTime(genesis.trust.since)}`
                  : `read from your file ${genesis.trust.fileName ?? ''} on ${formatTime(genesis.trust.since)}`}
                ; this browser keeps using it. A mark is only as trustworthy as that document:
                compare its hash with the one your hospital publishes, or use your own copy.
              </p>
              <p class="hint">
                Hash: <code class="patient-hash">{genesis.trust.hash}</code>
              </p>
            </>
          ) : null}
          <label for="genesis-file">Genesis file (genesis.json)</label>
          <input
            id="genesis-file"
            type="file"
            accept=".json,application/json"
            onChange={(event) => void choose(event)}
            data-testid="genesis-file"
          />
          {genesis.state === 'ready' && genesis.trust.source === 'file' ? (
            <div class="actions">
              <button type="button" class="secondary" onClick={reset}>
                Use this node’s genesis document again
              </button>
            </div>
          ) : null}
        </details>
      )}
    </section>
  );
}
