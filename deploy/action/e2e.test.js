'use strict';
// End to end: the real Action against the real receiver. The test builds mailproof, runs
// `mailproof local` against a real redis-server (embedded Redis only when none is
// installed and MAILPROOF_TEST_REQUIRE_REDIS is unset), creates a user in the bundled
// tenant emulator, registers it as pending through the admin API, resets its password,
// then runs onExecutePostLogin with a realistic event and waits for the flip.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const action = require('./post-login.js');

const ROOT = path.join(__dirname, '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function hasRedis() {
  return spawnSync('redis-server', ['--version']).status === 0;
}

async function startRedis(t, dir) {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  t.after(() => proc.kill('SIGKILL'));
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return `redis://127.0.0.1:${port}/0`;
    await sleep(50);
  }
  throw new Error('redis-server did not start');
}

// startLocal runs `mailproof local` and resolves with the variables it exports.
async function startLocal(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailproof-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, 'mailproof');
  execFileSync('go', ['build', '-o', bin, './cmd/mailproof'], { cwd: ROOT, stdio: 'inherit' });
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('MAILPROOF_') && k !== 'MAILPROOF_TEST_REQUIRE_REDIS') delete env[k];
  if (hasRedis()) {
    env.MAILPROOF_REDIS_URL = await startRedis(t, dir);
  } else if (process.env.MAILPROOF_TEST_REQUIRE_REDIS === '1') {
    throw new Error('redis-server is not installed and MAILPROOF_TEST_REQUIRE_REDIS=1');
  } else {
    t.diagnostic('redis-server not found: using the embedded Redis of local mode');
  }
  env.MAILPROOF_LISTEN = `127.0.0.1:${await freePort()}`;
  env.MAILPROOF_OPS_LISTEN = `127.0.0.1:${await freePort()}`;
  const proc = spawn(bin, ['local'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let errOut = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { errOut += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  t.after(async () => {
    proc.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, `mailproof local exited ${code} after SIGTERM\n${errOut}`);
  });
  for (let i = 0; i < 300 && !out.includes('Ctrl-C stops everything'); i++) {
    if (proc.exitCode !== null) throw new Error(`mailproof local exited early:\n${errOut}`);
    await sleep(100);
  }
  if (!out.includes('Ctrl-C stops everything')) throw new Error(`mailproof local never got ready:\n${errOut}`);
  const vars = {};
  for (const line of out.split('\n')) {
    const m = /^export (MAILPROOF_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2].replace(/^'|'$/g, '');
  }
  if (!vars.MAILPROOF_AUTH0_CA_FILE) throw new Error(`no CA file in the exports:\n${out}`);
  return { vars, logs: () => errOut };
}

// tenant talks to the emulator's Management API over HTTPS, trusting its CA file.
function tenant(vars) {
  const ca = fs.readFileSync(vars.MAILPROOF_AUTH0_CA_FILE);
  const [host, port] = vars.MAILPROOF_AUTH0_DOMAIN.split(':');
  let token = '';
  function call(method, p, body, auth) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers = { 'content-type': 'application/json' };
      if (auth) headers.authorization = `Bearer ${token}`;
      const req = https.request({ host, port, method, path: p, ca, headers }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null }));
      });
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }
  return {
    async login() {
      const res = await call('POST', '/oauth/token', {
        grant_type: 'client_credentials',
        client_id: vars.MAILPROOF_AUTH0_CLIENT_ID,
        client_secret: vars.MAILPROOF_AUTH0_CLIENT_SECRET,
        audience: `https://${vars.MAILPROOF_AUTH0_DOMAIN}/api/v2/`,
      });
      assert.equal(res.status, 200, `token: ${JSON.stringify(res.body)}`);
      token = res.body.access_token;
    },
    // local runs Auth0 Free's limits (a bucket of 2): like any client, wait out a 429
    // until x-ratelimit-reset and try again.
    api: async (method, p, body) => {
      for (let attempt = 1; ; attempt++) {
        const res = await call(method, p, body, true);
        if (res.status !== 429 || attempt === 5) return res;
        const reset = Number(res.headers['x-ratelimit-reset']) * 1000;
        await sleep(Math.min(Math.max(reset - Date.now(), 100), 5000));
      }
    },
  };
}

// admin calls mailproof's admin API, waiting out its 429 (the shared Auth0 budget is
// spent) for the Retry-After it gives, as a client should.
async function admin(vars, method, p, body) {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${vars.MAILPROOF_URL}${p}`, {
      method,
      headers: { authorization: `Bearer ${vars.MAILPROOF_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = { status: res.status, body: await res.json().catch(() => null) };
    if (res.status !== 429 || attempt === 5) return answer;
    await sleep(Math.min(Number(res.headers.get('retry-after') || 1) * 1000, 5000));
  }
}

// loginEvent is what Auth0 hands the Action for this user's password login.
function loginEvent(user, secrets) {
  const now = new Date().toISOString();
  return {
    tenant: { id: 'e2e' },
    transaction: { id: 'txn_e2e' },
    session: { id: 'ses_e2e' },
    client: { client_id: 'app', name: 'Example app' },
    connection: { id: 'con_e2e', name: 'Username-Password-Authentication', strategy: 'auth0' },
    authentication: { methods: [{ name: 'pwd', timestamp: now }] },
    stats: { logins_count: 1 },
    request: { ip: '203.0.113.7', user_agent: 'node-e2e', hostname: 'e2e.example.com', geoip: { countryCode: 'NL' } },
    user: {
      user_id: user.user_id,
      email: user.email,
      email_verified: user.email_verified,
      created_at: user.created_at,
      updated_at: user.updated_at,
      last_password_reset: user.last_password_reset,
      app_metadata: { plan: 'e2e' },
      identities: user.identities,
    },
    secrets,
  };
}

async function runAction(t, event) {
  const logs = [];
  const log = t.mock.method(console, 'log', (...a) => { logs.push(a.join(' ')); });
  const fetchSpy = t.mock.method(globalThis, 'fetch');
  const deny = t.mock.fn();
  await action.onExecutePostLogin(event, { access: { deny } });
  const fetches = fetchSpy.mock.callCount();
  fetchSpy.mock.restore();
  log.mock.restore();
  return { logs, fetches, denies: deny.mock.callCount() };
}

test('the real Action flips a pending user through the real receiver and ignores verified users', { timeout: 180000 }, async (t) => {
  const { vars, logs } = await startLocal(t);
  const auth0 = tenant(vars);
  await auth0.login();

  const email = `e2e-${Date.now()}@example.com`;
  const created = await auth0.api('POST', '/api/v2/users', {
    connection: 'Username-Password-Authentication', email, password: 'Unguessable-0-Initial!', email_verified: false, verify_email: false,
  });
  assert.equal(created.status, 201, `create user: ${JSON.stringify(created.body)}`);
  const id = created.body.user_id;

  const reg = await admin(vars, 'POST', '/v1/pending', { user_id: id });
  assert.equal(reg.status, 201, `register pending: ${JSON.stringify(reg.body)}`);
  await sleep(20); // the reset must come strictly after the registration time

  // The person follows the reset link and sets a password.
  const reset = await auth0.api('PATCH', `/api/v2/users/${encodeURIComponent(id)}`, { password: 'Chosen-by-Ada-42!', connection: 'Username-Password-Authentication' });
  assert.equal(reset.status, 200, `reset password: ${JSON.stringify(reset.body)}`);
  const before = (await auth0.api('GET', `/api/v2/users/${encodeURIComponent(id)}`)).body;
  assert.equal(before.email_verified, false);
  assert.ok(before.last_password_reset, 'the emulator recorded the reset');

  const secrets = { MAILPROOF_URL: `${vars.MAILPROOF_URL}/v1/events/post-login`, MAILPROOF_SECRET: vars.MAILPROOF_WEBHOOK_SECRETS.split(',')[0] };
  const got = await runAction(t, loginEvent(before, secrets));
  assert.equal(got.denies, 0, 'the Action denied the login');
  assert.equal(got.fetches, 1, `fetch calls ${got.fetches}, want 1`);
  assert.equal(got.logs.length, 1, `log lines ${JSON.stringify(got.logs)}`);
  assert.match(got.logs[0], /queued/, `Action log: ${got.logs[0]}`);
  assert.ok(!got.logs[0].includes(email), 'the Action logged the email');

  // Watch mailproof's record (Redis only), not the tenant: local runs Auth0 Free's
  // limits, and a poll of the Management API would take the worker's budget.
  let rec;
  for (let i = 0; i < 300; i++) {
    rec = await admin(vars, 'GET', `/v1/pending/${encodeURIComponent(id)}`);
    if (rec.body && rec.body.status === 'verified') break;
    await sleep(100);
  }
  assert.equal(rec.status, 200);
  assert.equal(rec.body.status, 'verified', `pending record ${JSON.stringify(rec.body)}; mailproof log:\n${logs()}`);
  const after = (await auth0.api('GET', `/api/v2/users/${encodeURIComponent(id)}`)).body;
  assert.equal(after.email_verified, true, `user not flipped; mailproof log:\n${logs()}`);

  // Now verified: the next login must not reach mailproof at all.
  const again = await runAction(t, loginEvent(after, secrets));
  assert.equal(again.fetches, 0, 'a verified user caused a request');
  assert.equal(again.logs.length, 0, `a verified user caused log lines ${JSON.stringify(again.logs)}`);
  assert.equal(again.denies, 0);
});
