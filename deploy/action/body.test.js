'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const action = require('./post-login.js');

function fixture() {
  return JSON.parse(fs.readFileSync(path.join(__dirname, 'testdata/event-first-login.json'), 'utf8'));
}

const NOW = new Date('2026-11-24T10:15:03.120Z');

test('body carries exactly the wire format fields of the first-login fixture', () => {
  const got = action._buildBody(fixture(), NOW);
  const want = {
    type: 'auth0.post_login',
    timestamp: '2026-11-24T10:15:03.120Z',
    data: {
      tenant: { id: 'acme-prod' },
      transaction: { id: 'txn_2bQzV8wXyA4cD6eF' },
      session: { id: 'ses_9XkLm3Np5Qr7St9U' },
      connection: { id: 'con_Ab12Cd34Ef56Gh78', name: 'Username-Password-Authentication', strategy: 'auth0' },
      authentication: { methods: [{ name: 'pwd', timestamp: '2026-11-24T10:15:02.877Z' }] },
      stats: { logins_count: 1 },
      request: {
        ip: '203.0.113.7',
        user_agent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15',
      },
      user: {
        user_id: 'auth0|6560c1f2e4b0a1b2c3d4e5f6',
        email: 'ada@example.com',
        email_verified: false,
        created_at: '2026-11-20T08:00:00.000Z',
        last_password_reset: '2026-11-24T10:14:40.000Z',
      },
    },
  };
  // Round-trip through JSON: what matters is what goes on the wire.
  assert.deepEqual(JSON.parse(JSON.stringify(got)), want);
});

test('body keeps the DESIGN.md key order', () => {
  const got = JSON.parse(JSON.stringify(action._buildBody(fixture(), NOW)));
  assert.deepEqual(Object.keys(got), ['type', 'timestamp', 'data']);
  assert.deepEqual(Object.keys(got.data), [
    'tenant', 'transaction', 'session', 'connection', 'authentication', 'stats', 'request', 'user',
  ]);
  assert.deepEqual(Object.keys(got.data.user), ['user_id', 'email', 'email_verified', 'created_at', 'last_password_reset']);
});

test('metadata, tokens and secrets in the event never reach the body', () => {
  const event = fixture();
  event.secrets = { MAILPROOF_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', OTHER: 'SHOULD-NOT-LEAK secret' };
  // Extra fields planted inside the objects the body does copy from.
  event.user.password = 'SHOULD-NOT-LEAK password';
  event.tenant.api_key = 'SHOULD-NOT-LEAK tenant';
  event.connection.options = { secret: 'SHOULD-NOT-LEAK connection' };
  event.authentication.methods[0].secret = 'SHOULD-NOT-LEAK method';
  event.request.headers = { authorization: 'Bearer SHOULD-NOT-LEAK' };
  const text = JSON.stringify(action._buildBody(event, NOW));
  for (const marker of ['SHOULD-NOT-LEAK', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'app_metadata', 'user_metadata', 'identities', 'geoip', 'organization']) {
    assert.ok(!text.includes(marker), `body contains ${marker}: ${text}`);
  }
});

test('optional fields are omitted when absent', () => {
  const event = fixture();
  delete event.user.last_password_reset;
  delete event.session;
  const got = JSON.parse(JSON.stringify(action._buildBody(event, NOW)));
  assert.ok(!('last_password_reset' in got.data.user), `user ${JSON.stringify(got.data.user)} has last_password_reset`);
  assert.ok(!('session' in got.data), `data ${JSON.stringify(got.data)} has session`);
});

test('fields of the wrong type are dropped, not coerced', () => {
  const event = fixture();
  event.user.email_verified = 'false';
  event.stats.logins_count = '1';
  event.user.last_password_reset = { $date: 'x' };
  event.authentication.methods = [{ name: 'pwd', timestamp: 42 }, null];
  const got = JSON.parse(JSON.stringify(action._buildBody(event, NOW)));
  assert.ok(!('email_verified' in got.data.user), `email_verified ${got.data.user.email_verified}, want absent`);
  assert.ok(!('logins_count' in got.data.stats), `logins_count ${got.data.stats.logins_count}, want absent`);
  assert.ok(!('last_password_reset' in got.data.user), 'last_password_reset present, want absent');
  assert.deepEqual(got.data.authentication.methods, [{ name: 'pwd' }, {}]);
});

test('a sparse event builds a body without throwing', () => {
  const rows = [
    { name: 'empty', event: {} },
    { name: 'null', event: null },
    { name: 'null members', event: { user: null, connection: null, authentication: { methods: 'pwd' } } },
  ];
  for (const row of rows) {
    const got = action._buildBody(row.event, NOW);
    assert.equal(got.type, 'auth0.post_login', `${row.name}: type ${got.type}`);
    assert.deepEqual(got.data.authentication.methods, [], `${row.name}: methods`);
  }
});
