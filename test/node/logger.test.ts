// Checks that the node logger writes JSON lines with ids and hashes but replaces credentials,
// bodies and names (at the top and nested), capturing its output in a stream.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';

import { createNodeLogger } from '../../src/node/index.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      done();
    },
  });
  return { lines, destination };
}

test('the node logger keeps ids and hashes and redacts tokens, bodies and names', () => {
  const { lines, destination } = capture();
  const logger = createNodeLogger({ level: 'info', name: 'st-mary-hospital', destination });
  logger.info(
    {
      txId: 'ab'.repeat(32),
      height: 12,
      req: {
        headers: { authorization: 'Bearer eyJhbGciOi', host: 'node1' },
        body: { name: 'Jane Doe' },
      },
      patient: { name: [{ family: 'Doe' }], birthDate: '1970-01-01' },
      token: 'secret-token',
      body: 'raw body',
    },
    'request',
  );
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(line.name, 'st-mary-hospital');
  assert.equal(line.txId, 'ab'.repeat(32));
  assert.equal(line.height, 12);
  assert.equal(line.msg, 'request');
  for (const secret of ['eyJhbGciOi', 'Jane', 'Doe', '1970-01-01', 'secret-token', 'raw body']) {
    assert.doesNotMatch(lines[0]!, new RegExp(secret), `${secret} must not be logged`);
  }
  assert.deepEqual(line.req, {
    headers: { authorization: '[redacted]', host: 'node1' },
    body: '[redacted]',
  });
});

test('the node logger honours its level and refuses an unknown one', () => {
  const { lines, destination } = capture();
  const logger = createNodeLogger({ level: 'warn', name: 'clinic', destination });
  logger.info('not written');
  logger.warn('written');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['written'],
  );
  assert.throws(
    () => createNodeLogger({ level: 'loud', name: 'clinic', destination }),
    /level:loud must be included/,
  );
});
