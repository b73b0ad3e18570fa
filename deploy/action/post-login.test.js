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
const HMAC = vectors.sign.find((v) => v.secret.startsWith('whsec_'));
const ED25519 = vectors.sign.find((v) => v.secret.startsWith('whsk_'));
const USER_ID = 'auth0|6560c1f2e4b0a1b2c3d4e5f6';
const EMAIL = 'ada@example.com';

function firstLogin(secrets) {
  const event = JSON.parse(fs.readFileSync(path.join(__dirname, 'testdata/event-first-login.json'), 'utf8'));
  event.secrets = secrets;
  return event;
}

// run executes the Action the way Auth0 does and returns what a test inspects: the log
// lines, the deny spy, how many fetch calls it made and how long it took.
async function run(t, event) {
  t.mock.method(console, 'log', () => {});
  t.mock.method(globalThis, 'fetch');
  const deny = t.mock.fn();
  const started = performance.now();
  const ret = await action.onExecutePostLogin(event, { access: { deny } });
  return {
    ret,
    elapsed: performance.now() - started,
    logs: console.log.mock.calls.map((c) => c.arguments.join(' ')),
    fetches: globalThis.fetch.mock.callCount(),
    denies: deny.mock.callCount(),
  };
}

function assertOneLine(got, pattern, name) {
  assert.equal(got.logs.length, 1, `${name}: ${got.logs.length} log lines ${JSON.stringify(got.logs)}, want 1`);
  const [line] = got.logs;
  assert.match(line, pattern, `${name}: log line`);
  assert.ok(line.length < 256, `${name}: log line of ${line.length} characters, want < 256`);
  assert.ok(!line.includes(EMAIL), `${name}: log line ${line} contains the email`);
  assert.equal(got.denies, 0, `${name}: api.access.deny called`);
  assert.equal(got.ret, undefined, `${name}: returned ${got.ret}`);
}

test('no request and no log for logins mailproof does not care about', async (t) => {
  const secrets = { MAILPROOF_URL: await receiver.closedPortURL(), MAILPROOF_SECRET: HMAC.secret };
  const rows = [
    { name: 'verified user', change: (e) => { e.user.email_verified = true; } },
    { name: 'email_verified absent', change: (e) => { delete e.user.email_verified; } },
    { name: 'social connection', change: (e) => { e.connection.strategy = 'google-oauth2'; } },
    { name: 'passwordless connection', change: (e) => { e.connection.strategy = 'email'; } },
    { name: 'connection absent', change: (e) => { delete e.connection; } },
    { name: 'user absent', change: (e) => { delete e.user; } },
  ];
  for (const row of rows) {
    await t.test(row.name, async (t) => {
      const event = firstLogin(secrets);
      row.change(event);
      const got = await run(t, event);
      assert.equal(got.fetches, 0, `${row.name}: ${got.fetches} fetch calls, want 0`);
      assert.deepEqual(got.logs, [], `${row.name}: logs`);
      assert.equal(got.denies, 0, `${row.name}: api.access.deny called`);
    });
  }
});

test('bad configuration logs one line, sends nothing and lets the login proceed', async (t) => {
  const url = 'https://mailproof.example/v1/events/post-login';
  const rows = [
    { name: 'no secrets at all', secrets: undefined, want: /MAILPROOF_URL missing/ },
    { name: 'url missing', secrets: { MAILPROOF_SECRET: HMAC.secret }, want: /MAILPROOF_URL missing/ },
    { name: 'url not a url', secrets: { MAILPROOF_URL: 'mailproof', MAILPROOF_SECRET: HMAC.secret }, want: /MAILPROOF_URL is not a URL/ },
    { name: 'url not http', secrets: { MAILPROOF_URL: 'ftp://x/y', MAILPROOF_SECRET: HMAC.secret }, want: /MAILPROOF_URL must be http/ },
    { name: 'secret missing', secrets: { MAILPROOF_URL: url }, want: /MAILPROOF_SECRET missing/ },
    { name: 'timeout not a number', secrets: { MAILPROOF_URL: url, MAILPROOF_SECRET: HMAC.secret, MAILPROOF_TIMEOUT_MS: '2s' }, want: /MAILPROOF_TIMEOUT_MS/ },
    ...vectors.invalid_secrets.map((s) => ({
      name: `secret ${JSON.stringify(s)}`,
      secrets: { MAILPROOF_URL: url, MAILPROOF_SECRET: s },
      want: /MAILPROOF_SECRET/,
      secret: s,
    })),
  ];
  for (const row of rows) {
    await t.test(row.name, async (t) => {
      const got = await run(t, firstLogin(row.secrets));
      assertOneLine(got, new RegExp(`^mailproof: config_error user_id=auth0\\|6560c1f2e4b0a1b2c3d4e5f6 error=.*${row.want.source}`), row.name);
      assert.equal(got.fetches, 0, `${row.name}: ${got.fetches} fetch calls, want 0`);
      if (row.secret && row.secret.length > 'whsec_'.length) {
        assert.ok(!got.logs[0].includes(row.secret), `${row.name}: log quotes the secret`);
      }
    });
  }
});

test('the receiver gets a valid signed event and its answer is logged', async (t) => {
  const rows = [
    { name: 'queued', key: HMAC, answer: { status: 202, json: { status: 'queued', job_id: '1732443303120-0' } }, want: /^mailproof: queued user_id=auth0\|6560c1f2e4b0a1b2c3d4e5f6 job_id=1732443303120-0$/ },
    { name: 'queued with ed25519', key: ED25519, answer: { status: 202, json: { status: 'queued', job_id: 'j1' } }, want: /^mailproof: queued user_id=\S+ job_id=j1$/ },
    { name: 'ignored', key: HMAC, answer: { status: 200, json: { status: 'ignored', reason: 'not_pending' } }, want: /^mailproof: ignored user_id=\S+ reason=not_pending$/ },
    { name: 'duplicate', key: HMAC, answer: { status: 200, json: { status: 'duplicate' } }, want: /^mailproof: duplicate user_id=\S+$/ },
    { name: 'unavailable', key: HMAC, answer: { status: 503, json: { error: { code: 'unavailable', message: 'retry later' } } }, want: /^mailproof: error user_id=\S+ error=http 503 unavailable$/ },
    { name: 'rejected signature', key: HMAC, answer: { status: 401, json: { error: { code: 'invalid_signature', message: 'no' } } }, want: /^mailproof: error user_id=\S+ error=http 401 invalid_signature$/ },
    { name: 'redirect not followed', key: HMAC, answer: { status: 307, json: {}, headers: { location: '/elsewhere' } }, want: /^mailproof: error user_id=\S+ error=http 307$/ },
    { name: 'odd success', key: HMAC, answer: { status: 200, json: { status: 'surprise' } }, want: /^mailproof: error user_id=\S+ error=unexpected answer http 200$/ },
  ];
  for (const row of rows) {
    await t.test(row.name, async (t) => {
      const server = await receiver.start({ keys: [row.key.public_key || row.key.secret], respond: () => row.answer });
      t.after(() => server.close());
      const got = await run(t, firstLogin({ MAILPROOF_URL: server.url, MAILPROOF_SECRET: row.key.secret }));

      assertOneLine(got, row.want, row.name);
      assert.equal(server.requests.length, 1, `${row.name}: ${server.requests.length} requests, want 1 (no retry on an HTTP status)`);
      const [req] = server.requests;
      assert.equal(req.verifyError, '', `${row.name}: signature check: ${req.verifyError}`);
      assert.equal(req.method, 'POST');
      assert.equal(req.path, '/v1/events/post-login');
      assert.equal(req.headers['content-type'], 'application/json');
      assert.match(req.headers['webhook-id'], /^msg_[A-Za-z0-9_-]+$/);
      const body = JSON.parse(req.body.toString('utf8'));
      assert.equal(body.type, 'auth0.post_login');
      assert.equal(body.data.user.user_id, USER_ID);
      assert.equal(body.data.user.email_verified, false);
      assert.ok(Math.abs(Date.parse(body.timestamp) - Date.now()) < 60000, `body timestamp ${body.timestamp} is not now`);
      assert.ok(!req.body.includes('SHOULD-NOT-LEAK'), `${row.name}: body leaks a planted field`);
    });
  }
});

test('every login gets its own webhook-id', async (t) => {
  const server = await receiver.start({ keys: [HMAC.secret], respond: () => ({ status: 202, json: { status: 'queued' } }) });
  t.after(() => server.close());
  const secrets = { MAILPROOF_URL: server.url, MAILPROOF_SECRET: HMAC.secret };
  await run(t, firstLogin(secrets));
  await action.onExecutePostLogin(firstLogin(secrets), { access: { deny() {} } });
  assert.equal(server.requests.length, 2);
  const [a, b] = server.requests.map((r) => r.headers['webhook-id']);
  assert.notEqual(a, b, `both logins used webhook-id ${a}`);
});

test('a network error is retried once with the same webhook-id', async (t) => {
  const server = await receiver.start({
    keys: [HMAC.secret],
    respond: (n) => (n === 1 ? 'destroy' : { status: 202, json: { status: 'queued', job_id: 'j2' } }),
  });
  t.after(() => server.close());
  const got = await run(t, firstLogin({ MAILPROOF_URL: server.url, MAILPROOF_SECRET: HMAC.secret }));

  assertOneLine(got, /^mailproof: queued user_id=\S+ job_id=j2 attempts=2$/, 'retry');
  assert.equal(server.requests.length, 2, `${server.requests.length} requests, want 2`);
  const [first, second] = server.requests;
  assert.equal(second.headers['webhook-id'], first.headers['webhook-id'], 'retry changed the webhook-id');
  assert.equal(second.verifyError, '', `retry signature check: ${second.verifyError}`);
  assert.ok(second.body.equals(first.body), 'retry changed the body');
});

test('receiver down: one retry, an error line, the login proceeds', async (t) => {
  const got = await run(t, firstLogin({ MAILPROOF_URL: await receiver.closedPortURL(), MAILPROOF_SECRET: HMAC.secret }));
  assertOneLine(got, /^mailproof: error user_id=\S+ error=network: ECONNREFUSED attempts=2$/, 'down');
  assert.equal(got.fetches, 2, `${got.fetches} fetch calls, want 2`);
});

test('no retry when too little of the budget is left', async (t) => {
  // The connection drops after 150 ms of a 300 ms budget: under 250 ms remain.
  const server = await receiver.start({ keys: [HMAC.secret], respond: () => ({ delayMs: 150, then: 'destroy' }) });
  t.after(() => server.close());
  const got = await run(t, firstLogin({ MAILPROOF_URL: server.url, MAILPROOF_SECRET: HMAC.secret, MAILPROOF_TIMEOUT_MS: '300' }));
  assertOneLine(got, /^mailproof: error user_id=\S+ error=(network: \S+|timeout after 300ms)$/, 'late drop');
  assert.equal(server.requests.length, 1, `${server.requests.length} requests, want 1`);
});

test('receiver hanging: the Action returns within its timeout plus 100 ms', async (t) => {
  const timeoutMs = 500;
  const server = await receiver.start({ keys: [HMAC.secret], respond: () => 'hang' });
  t.after(() => server.close());
  const got = await run(t, firstLogin({ MAILPROOF_URL: server.url, MAILPROOF_SECRET: HMAC.secret, MAILPROOF_TIMEOUT_MS: String(timeoutMs) }));

  assertOneLine(got, /^mailproof: error user_id=\S+ error=timeout after 500ms$/, 'hang');
  // The requirement is an upper bound on login latency, so only that is asserted.
  assert.ok(got.elapsed <= timeoutMs + 100, `returned after ${got.elapsed.toFixed(0)} ms, want <= ${timeoutMs + 100} ms`);
  assert.equal(server.requests.length, 1, `${server.requests.length} requests, want 1 (no retry after an abort)`);
});

test('an unexpected failure inside the Action is logged, not thrown', async (t) => {
  const event = firstLogin({ MAILPROOF_URL: 'https://mailproof.example/x', MAILPROOF_SECRET: HMAC.secret });
  Object.defineProperty(event, 'tenant', { get() { throw new Error('boom'); } });
  const got = await run(t, event);
  assertOneLine(got, /^mailproof: error user_id=\S+ error=internal: boom$/, 'throwing event');
  assert.equal(got.fetches, 0);
});
