/**
 * The network explorer (`#/explorer`, no sign-in): this node's view of the chain — the
 * validators and their health as this node sees them (its peer links, their signatures and
 * proposals in the recent blocks' commits), heights and the signed head, the recent blocks and
 * one block's transactions (kind, id, signer, size: never a body), and two charts over the recent
 * blocks, throughput and commit interval, each with its numbers as a table. Only this node's API
 * is called (`/chain/status`, `/chain/proofs/head`, `/chain/blocks/<h>`): the page's content
 * security policy allows no other origin, so other nodes are seen through what this one knows.
 * A block is chosen by its link or by height; its address is `#/explorer/block/<h>`.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

import { BlockChart } from './explorer-chart.tsx';
import {
  type BlockSummary,
  type ValidatorHealth,
  type ValidatorState,
  type WindowSummary,
  blockOfHash,
  blockPoints,
  checkHeight,
  countKinds,
  explorerLimits,
  shortHex,
  summarisePoints,
  validatorHealth,
} from './explorer-data.ts';
import { type ChainView, fetchBlock, useChainView } from './explorer-live.ts';
import { Notice, Page, describeFailure } from './ui.tsx';

/** A time of day with seconds, in the reader's locale: blocks come about a second apart. */
function clockTime(time: number): string {
  return new Date(time).toLocaleTimeString(undefined, {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

function plural(count: number, one: string, many: string = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The refresh interval in words (`3 s`). */
const everyRefresh = `${explorerLimits.refreshIntervalMs / 1000} s`;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A hash shortened for reading; the whole value is in the tooltip. */
function Hex(props: { value: string }) {
  return (
    <code class="explorer-hex" title={props.value}>
      {shortHex(props.value)}
    </code>
  );
}

/** A table that scrolls sideways on a narrow screen; focusable so a keyboard can scroll it. */
function TableRegion(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}

const stateLabels: Record<ValidatorState, string> = {
  healthy: 'Healthy',
  lagging: 'Lagging',
  silent: 'Not signing',
  unknown: 'No blocks yet',
};

function linkLabel(validator: ValidatorHealth): string {
  switch (validator.link) {
    case 'this node':
      return 'This node';
    case 'inbound':
      return 'Connected, inbound';
    case 'outbound':
      return 'Connected, outbound';
    case 'not connected':
      return 'Not connected';
  }
}

/** Who a key is, when it is a validator's: "validator 2". */
function validatorName(view: ChainView, key: string): string | null {
  const index = view.status.validators.findIndex((validator) => validator.publicKey === key);
  return index < 0 ? null : `validator ${index + 1}`;
}

function LiveControls(props: {
  paused: boolean;
  onPause: (paused: boolean) => void;
  view: ChainView | null;
}) {
  let state: string;
  if (props.paused) state = 'Updates paused.';
  else if (props.view === null) state = 'Reading the chain…';
  else state = `Updated at ${clockTime(props.view.readAt)}; updates every ${everyRefresh}.`;
  return (
    <div class="explorer-live">
      <button
        type="button"
        class="secondary"
        aria-pressed={props.paused}
        onClick={() => props.onPause(!props.paused)}
      >
        Pause updates
      </button>
      <span class="meta">{state}</span>
    </div>
  );
}

function NodeOverview(props: { view: ChainView }) {
  const { status, head, blocks } = props.view;
  const headBlock = head === null ? undefined : blocks.find((b) => b.height === head.height);
  return (
    <section aria-labelledby="explorer-node">
      <h2 id="explorer-node">This node</h2>
      <dl class="explorer-facts">
        <div>
          <dt>Chain</dt>
          <dd>
            <code>{status.chainId}</code>
          </dd>
        </div>
        <div>
          <dt>Node key</dt>
          <dd>
            <Hex value={status.nodeKey} />{' '}
            {status.isValidator ? '(a validator)' : '(not a validator)'}
          </dd>
        </div>
        <div>
          <dt>Height</dt>
          <dd>
            <strong data-testid="node-height">{status.height}</strong>
            {status.round > 0 ? `, round ${status.round} at the next height` : null}
          </dd>
        </div>
        <div>
          <dt>Newest block</dt>
          <dd>{status.height === 0 ? 'none yet' : clockTime(status.lastBlockTime)}</dd>
        </div>
        <div>
          <dt>History log</dt>
          <dd>
            {plural(status.logSize, 'transaction')}, root <Hex value={status.logRoot} />
          </dd>
        </div>
        <div>
          <dt>Signed head</dt>
          <dd>
            {head === null ? (
              'none yet'
            ) : (
              <>
                block {head.height} (<Hex value={head.blockHash} />
                ), log size {head.logSize}
                {headBlock === undefined
                  ? null
                  : `, certified by ${headBlock.signerIndexes.length} of ${status.validators.length} validators`}
              </>
            )}
          </dd>
        </div>
        <div>
          <dt>Waiting to commit</dt>
          <dd>{plural(status.mempoolSize, 'transaction')}</dd>
        </div>
      </dl>
    </section>
  );
}

function Validators(props: { view: ChainView }) {
  const { status, blocks } = props.view;
  const health = validatorHealth({ status, blocks });
  const newest = blocks.at(-1);
  const totalPower = status.validators.reduce((sum, validator) => sum + validator.power, 0);
  const signedPower =
    newest === undefined
      ? 0
      : newest.signerIndexes.reduce(
          (sum, index) => sum + (status.validators[index]?.power ?? 0),
          0,
        );
  const validatorKeys = new Set(status.validators.map((validator) => validator.publicKey));
  const otherPeers = status.peers.filter((peer) => !validatorKeys.has(peer.id)).length;
  return (
    <section aria-labelledby="explorer-validators">
      <h2 id="explorer-validators">Validators</h2>
      <p>
        {plural(status.validators.length, 'validator')}, as this node sees them: its own links to
        them, and their signatures and proposals in the last {plural(blocks.length, 'block')}. A
        validator is healthy when it signed or proposed one of the last{' '}
        {explorerLimits.healthyBlocksRecent} blocks.{' '}
        {newest === undefined
          ? null
          : `The newest commit (block ${newest.height}) carries the signatures of ${signedPower} of ${totalPower} voting power; a commit needs more than two thirds.`}
        {otherPeers > 0 ? ` This node also has ${plural(otherPeers, 'link')} to other nodes.` : ''}
      </p>
      <TableRegion label="Table of validators">
        <table class="explorer-table">
          <thead>
            <tr>
              <th scope="col">Validator</th>
              <th scope="col">Health</th>
              <th scope="col">Link from this node</th>
              <th scope="col">Last signed</th>
              <th scope="col">Commits signed</th>
              <th scope="col">Last proposed</th>
            </tr>
          </thead>
          <tbody>
            {health.map((validator) => (
              <tr key={validator.publicKey} data-validator={validator.publicKey}>
                <th scope="row">
                  Validator {validator.number} <Hex value={validator.publicKey} />
                </th>
                <td>
                  <span class={`badge explorer-state-${validator.state}`}>
                    {stateLabels[validator.state]}
                  </span>
                </td>
                <td>{linkLabel(validator)}</td>
                <td>
                  {validator.lastSigned === null
                    ? 'not in this window'
                    : `block ${validator.lastSigned}`}
                </td>
                <td>
                  {validator.signedCount} of {validator.commitsSeen}
                </td>
                <td>
                  {validator.lastProposed === null
                    ? 'not in this window'
                    : `block ${validator.lastProposed} (${validator.proposedCount} in all)`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
    </section>
  );
}

function throughputSummary(summary: WindowSummary): string {
  if (summary.blocks === 0) return 'No blocks yet.';
  const rate =
    summary.perSecond === null ? '' : ` — ${summary.perSecond.toFixed(2)} transactions a second`;
  const busiest =
    summary.busiestBlock === null || summary.busiestBlock.transactions === 0
      ? ' None of them holds a transaction.'
      : ` The busiest is block ${summary.busiestBlock.height}, with ${plural(summary.busiestBlock.transactions, 'transaction')}.`;
  return `${plural(summary.transactions, 'transaction')} in blocks ${summary.firstHeight} to ${summary.lastHeight}, over ${seconds(summary.spanMs)}${rate}.${busiest}`;
}

function intervalSummary(summary: WindowSummary): string {
  if (summary.intervalMedianMs === null) return 'Not enough blocks yet to measure an interval.';
  return `Blocks ${summary.firstHeight} to ${summary.lastHeight}: a block was committed every ${seconds(summary.intervalMedianMs)} (median); the shortest interval was ${seconds(summary.intervalMinMs ?? 0)}, the longest ${seconds(summary.intervalMaxMs ?? 0)}.`;
}

function Charts(props: { view: ChainView }) {
  const points = blockPoints(props.view.blocks);
  const summary = summarisePoints(points);
  const throughput = throughputSummary(summary);
  const interval = intervalSummary(summary);
  return (
    <section aria-labelledby="explorer-charts">
      <h2 id="explorer-charts">Throughput and commit interval</h2>
      <p class="hint">
        From the times and transaction counts of the last {plural(points.length, 'block')}. The
        commit interval is the time between one block's time and the next's: how long the network
        took to agree on each height.
      </p>
      <div class="explorer-charts">
        <figure class="explorer-figure" data-chart="throughput">
          <figcaption>
            <strong>Throughput: transactions per block</strong>
            <span class="meta">{throughput}</span>
          </figcaption>
          <BlockChart
            id="chart-throughput"
            title="Transactions per block"
            summary={throughput}
            kind="bars"
            unit="transactions"
            points={points.map((point) => ({ x: point.height, y: point.transactions }))}
          />
        </figure>
        <figure class="explorer-figure" data-chart="interval">
          <figcaption>
            <strong>Commit interval: seconds between blocks</strong>
            <span class="meta">{interval}</span>
          </figcaption>
          <BlockChart
            id="chart-interval"
            title="Seconds between blocks"
            summary={interval}
            kind="line"
            unit="seconds"
            points={points.map((point) => ({
              x: point.height,
              y: point.intervalMs === null ? null : point.intervalMs / 1000,
            }))}
          />
        </figure>
      </div>
      <details class="explorer-data">
        <summary>The charts' numbers as a table</summary>
        <TableRegion label="Table of the charts' numbers">
          <table class="explorer-table">
            <caption class="visually-hidden">
              Transactions and commit interval of each recent block, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Block</th>
                <th scope="col">Time</th>
                <th scope="col">Transactions</th>
                <th scope="col">Interval</th>
                <th scope="col">Transactions a second</th>
              </tr>
            </thead>
            <tbody>
              {[...points].reverse().map((point) => (
                <tr key={point.height}>
                  <th scope="row">{point.height}</th>
                  <td class="explorer-nowrap">{clockTime(point.time)}</td>
                  <td>{point.transactions}</td>
                  <td>{point.intervalMs === null ? '—' : seconds(point.intervalMs)}</td>
                  <td>{point.perSecond === null ? '—' : point.perSecond.toFixed(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      </details>
    </section>
  );
}

function RecentBlocks(props: { view: ChainView; selected: number | null }) {
  const { view } = props;
  const listed = view.blocks.slice(-explorerLimits.listedBlocks).reverse();
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const go = (event: Event) => {
    event.preventDefault();
    const checked = checkHeight(text, view.status.height);
    if ('problem' in checked) {
      setProblem(checked.problem);
      return;
    }
    setProblem(null);
    window.location.hash = `#/explorer/block/${checked.height}`;
  };
  return (
    <section aria-labelledby="explorer-blocks">
      <h2 id="explorer-blocks">Recent blocks</h2>
      <form class="explorer-goto" onSubmit={go} noValidate>
        <label for="explorer-height">Block height</label>
        <div class="explorer-goto-row">
          <input
            id="explorer-height"
            name="height"
            inputMode="numeric"
            autoComplete="off"
            value={text}
            onInput={(event) => setText((event.target as HTMLInputElement).value)}
            aria-invalid={problem !== null}
            aria-describedby={problem === null ? 'explorer-height-hint' : 'explorer-height-problem'}
          />
          <button type="submit">Show block</button>
        </div>
        {problem === null ? (
          <p id="explorer-height-hint" class="hint">
            From 1 to {view.status.height}.
          </p>
        ) : (
          <p id="explorer-height-problem" class="explorer-problem" role="alert">
            {problem}
          </p>
        )}
      </form>
      <TableRegion label="Table of recent blocks">
        <table class="explorer-table">
          <caption class="visually-hidden">
            The {plural(listed.length, 'newest block')}, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">Block</th>
              <th scope="col">Time</th>
              <th scope="col">Transactions</th>
              <th scope="col">Proposer</th>
              <th scope="col">Signatures</th>
            </tr>
          </thead>
          <tbody>
            {listed.map((block) => (
              <tr key={block.height} data-height={block.height}>
                <th scope="row">
                  <a
                    href={`#/explorer/block/${block.height}`}
                    aria-current={props.selected === block.height ? 'true' : undefined}
                  >
                    {block.height}
                  </a>
                </th>
                <td class="explorer-nowrap">{clockTime(block.time)}</td>
                <td>{block.transactions.length}</td>
                <td class="explorer-nowrap">
                  {validatorName(view, block.proposer) ?? <Hex value={block.proposer} />}
                </td>
                <td>
                  {block.signerIndexes.length} of {view.status.validators.length}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
    </section>
  );
}

/** The block chosen: from the window when it is there, else read once from the node. */
function useChosenBlock(view: ChainView | null, height: number | null) {
  const inWindow =
    height === null ? undefined : view?.blocks.find((block) => block.height === height);
  const [loaded, setLoaded] = useState<{
    height: number;
    block?: BlockSummary;
    error?: string;
  } | null>(null);
  const head = view?.status.height ?? null;
  const needsFetch = height !== null && inWindow === undefined && head !== null && height <= head;
  useEffect(() => {
    if (!needsFetch || height === null) return;
    if (loaded?.height === height) return;
    let current = true;
    fetchBlock(height).then(
      (block) => current && setLoaded({ height, block }),
      (failure: unknown) => current && setLoaded({ height, error: describeFailure(failure) }),
    );
    return () => {
      current = false;
    };
  }, [height, needsFetch]);
  if (height === null) return { state: 'none' } as const;
  if (inWindow !== undefined) return { state: 'ready', block: inWindow } as const;
  if (head !== null && height > head) {
    return {
      state: 'error',
      error: `Block ${height} is not committed yet: the newest block is ${head}.`,
    } as const;
  }
  if (loaded?.height === height && loaded.block !== undefined) {
    return { state: 'ready', block: loaded.block } as const;
  }
  if (loaded?.height === height && loaded.error !== undefined) {
    return { state: 'error', error: loaded.error } as const;
  }
  return { state: 'loading' } as const;
}

function BlockDetail(props: { view: ChainView; height: number | null; focus: boolean }) {
  const { view, height } = props;
  const chosen = useChosenBlock(view, height);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (props.focus && height !== null) heading.current?.focus();
  }, [height, props.focus]);
  const title = height === null ? 'Block' : `Block ${height}`;
  return (
    <section aria-labelledby="explorer-block" class="explorer-block">
      <h2 id="explorer-block" ref={heading} tabIndex={-1}>
        {title}
      </h2>
      {chosen.state === 'none' ? (
        <p>Choose a block in the list above, or enter its height, to see its transactions.</p>
      ) : null}
      {chosen.state === 'loading' ? <p>Reading block {height}…</p> : null}
      {chosen.state === 'error' ? <Notice kind="error">{chosen.error}</Notice> : null}
      {chosen.state === 'ready' ? <BlockContent view={view} block={chosen.block} /> : null}
    </section>
  );
}

function BlockContent(props: { view: ChainView; block: BlockSummary }) {
  const { view, block } = props;
  const kinds = countKinds(block.transactions);
  const signer = (key: string) => {
    const name = validatorName(view, key);
    return (
      <>
        <Hex value={key} />
        {name === null ? null : <span class="meta"> ({name})</span>}
      </>
    );
  };
  return (
    <>
      <nav class="actions" aria-label="Other blocks">
        {block.height > 1 ? (
          <a href={`#/explorer/block/${block.height - 1}`}>Previous block</a>
        ) : null}
        {block.height < view.status.height ? (
          <a href={`#/explorer/block/${block.height + 1}`}>Next block</a>
        ) : null}
        {block.height < view.status.height ? (
          <a href={`#/explorer/block/${view.status.height}`}>Newest block</a>
        ) : null}
      </nav>
      <dl class="explorer-facts">
        <div>
          <dt>Time</dt>
          <dd>
            {new Date(block.time).toLocaleString(undefined, {
              dateStyle: 'medium',
              timeStyle: 'medium',
            })}
          </dd>
        </div>
        <div>
          <dt>Hash</dt>
          <dd>
            <Hex value={block.hash} />
          </dd>
        </div>
        <div>
          <dt>Previous hash</dt>
          <dd>
            <Hex value={block.prevHash} />
          </dd>
        </div>
        <div>
          <dt>Proposer</dt>
          <dd>{signer(block.proposer)}</dd>
        </div>
        <div>
          <dt>Commit</dt>
          <dd>
            signed by{' '}
            {block.signerIndexes.length === 0
              ? 'nobody'
              : [...block.signerIndexes]
                  .sort((a, b) => a - b)
                  .map((index) => `validator ${index + 1}`)
                  .join(', ')}
          </dd>
        </div>
        <div>
          <dt>Transaction root</dt>
          <dd>
            <Hex value={block.txRoot} />
          </dd>
        </div>
        <div>
          <dt>State root</dt>
          <dd>
            <Hex value={block.stateRoot} />
          </dd>
        </div>
        <div>
          <dt>Log root and size</dt>
          <dd>
            <Hex value={block.logRoot} />, {plural(block.logSize, 'transaction')}
          </dd>
        </div>
        <div>
          <dt>Validator set</dt>
          <dd>
            <Hex value={block.validatorsHash} />
          </dd>
        </div>
      </dl>
      <h3>Transactions</h3>
      {block.transactions.length === 0 ? (
        <p>This block holds no transactions.</p>
      ) : (
        <>
          <p data-testid="block-kinds">
            {plural(block.transactions.length, 'transaction')}:{' '}
            {kinds.map((entry) => `${entry.count} ${entry.kind}`).join(', ')}. Bodies are not shown:
            the explorer keeps to kinds, ids and sizes.
          </p>
          <TableRegion label={`Table of the transactions of block ${block.height}`}>
            <table class="explorer-table explorer-transactions">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Id</th>
                  <th scope="col">Signer</th>
                  <th scope="col">Size</th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {block.transactions.map((tx, index) => (
                  <tr key={tx.id}>
                    <td>{index + 1}</td>
                    <td>
                      <code>{tx.kind}</code>
                    </td>
                    <td>
                      <Hex value={tx.id} />
                    </td>
                    <td>{signer(tx.signer)}</td>
                    <td>{tx.bodyBytes} bytes</td>
                    <td>{tx.ok ? 'applied' : `refused (${tx.code ?? 'no code'})`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        </>
      )}
    </>
  );
}

export function Explorer() {
  const [paused, setPaused] = useState(false);
  const { view, error } = useChainView(paused);
  const [selected, setSelected] = useState<number | null>(blockOfHash(window.location.hash));
  // Focus moves to the block's heading when the reader chooses a block, not on the first load.
  const [chosenByReader, setChosenByReader] = useState(false);
  useEffect(() => {
    const onHash = () => {
      if (!window.location.hash.startsWith('#/explorer')) return;
      setSelected(blockOfHash(window.location.hash));
      setChosenByReader(true);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  return (
    <Page title="Network explorer">
      <p>
        The chain as this node sees it: validators, heights, blocks and their transactions (kinds,
        ids and sizes; no patient data), and how fast blocks commit.
      </p>
      <LiveControls paused={paused} onPause={setPaused} view={view} />
      {error === null ? null : (
        <Notice kind="error" title="Could not read the chain">
          {/[.!?]$/.test(error) ? error : `${error}.`}{' '}
          {paused ? 'Resume the updates to try again.' : `Trying again every ${everyRefresh}.`}
        </Notice>
      )}
      {view === null ? (
        error === null ? (
          <p>Reading the chain from this node…</p>
        ) : null
      ) : (
        <>
          <NodeOverview view={view} />
          <Validators view={view} />
          <Charts view={view} />
          <RecentBlocks view={view} selected={selected} />
          <BlockDetail view={view} height={selected} focus={chosenByReader} />
        </>
      )}
    </Page>
  );
}
