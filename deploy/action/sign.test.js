'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const action = require('./post-login.js');
const receiver = require('./fake-receiver.js');

const vectors = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../webhook/testdata/signature-vectors.json'), 'utf8'),
);

test('signer reproduces the shared sign vectors byte for byte', () => {
  assert.ok(vectors.sign.length >= 2, 'expected symmetric and asymmetric vectors');
  for (const v of vectors.sign) {
    const got = action._sign(v.secret, v.id, v.timestamp, v.payload);
    assert.equal(got, v.signature, `${v.name}: signature ${got}, want ${v.signature}`);
  }
});

test('signatures verify under the independent test verifier', () => {
  for (const v of vectors.sign) {
    const key = v.public_key || v.secret;
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      'webhook-id': v.id,
      'webhook-timestamp': ts,
      'webhook-signature': action._sign(v.secret, v.id, ts, v.payload),
    };
    const why = receiver.verify([key], headers, Buffer.from(v.payload));
    assert.equal(why, '', `${v.name}: verify error ${why}, want none`);
  }
});

test('the test verifier rejects a tampered payload', () => {
  // Guards the guard: a verifier that accepts everything would make the delivery tests
  // meaningless.
  const v = vectors.sign[0];
  const ts = String(Math.floor(Date.now() / 1000));
  const headers = {
    'webhook-id': v.id,
    'webhook-timestamp': ts,
    'webhook-signature': action._sign(v.secret, v.id, ts, v.payload),
  };
  const why = receiver.verify([v.secret], headers, Buffer.from(v.payload + ' '));
  assert.equal(why, 'no signature matches');
});

test('invalid secrets are configuration errors that never quote the secret', () => {
  const rows = vectors.invalid_secrets.map((s) => ({ name: JSON.stringify(s), secret: s }));
  rows.push(
    { name: 'undefined', secret: undefined },
    { name: 'whsec_ key over 64 bytes', secret: 'whsec_' + Buffer.alloc(65, 7).toString('base64') },
    { name: 'whsec_ base64 without padding', secret: 'whsec_' + Buffer.alloc(25, 7).toString('base64').replace(/=+$/, '') },
    { name: 'whsk_ of 32 bytes', secret: 'whsk_' + Buffer.alloc(32, 7).toString('base64') },
    {
      name: 'whsk_ with a foreign public half',
      secret: 'whsk_' + Buffer.concat([
        Buffer.from(vectors.sign[1].secret.slice(5), 'base64').subarray(0, 32),
        Buffer.alloc(32, 9),
      ]).toString('base64'),
    },
  );
  for (const row of rows) {
    assert.throws(
      () => action._sign(row.secret, 'msg_x', 1614265330, '{}'),
      (err) => {
        assert.ok(err instanceof action._ConfigError, `${row.name}: error ${err}, want a ConfigError`);
        if (row.secret && row.secret.length > 6) {
          assert.ok(!err.message.includes(row.secret.slice(6)), `${row.name}: message quotes the secret: ${err.message}`);
        }
        return true;
      },
      `${row.name}: signed, want a configuration error`,
    );
  }
});

test('a secret is decoded once and reused across executions', () => {
  for (const v of vectors.sign) {
    const first = action._signerFor(v.secret);
    const again = action._signerFor(v.secret);
    assert.equal(again, first, `${v.name}: got a new signer, want the cached one`);
  }
});

test('parseTimeout applies the default and clamps', () => {
  const rows = [
    { name: 'absent', in: undefined, want: 2000 },
    { name: 'empty', in: '', want: 2000 },
    { name: 'in range', in: '1500', want: 1500 },
    { name: 'padded', in: ' 800 ', want: 800 },
    { name: 'number', in: 700, want: 700 },
    { name: 'below the floor', in: '5', want: 100 },
    { name: 'zero', in: '0', want: 100 },
    { name: 'above the ceiling', in: '60000', want: 5000 },
  ];
  for (const row of rows) {
    const got = action._parseTimeout(row.in);
    assert.equal(got, row.want, `${row.name}: timeout ${got}, want ${row.want}`);
  }
  for (const bad of ['abc', '-5', '1.5', '2s', '1e3']) {
    assert.throws(() => action._parseTimeout(bad), action._ConfigError, `${bad}: accepted, want a configuration error`);
  }
});
