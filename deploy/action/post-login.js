'use strict';
/**
 * mailproof post-login Action.
 *
 * When an unverified database-connection user logs in, send a trimmed copy of the
 * post-login event to the mailproof receiver, signed the Standard Webhooks way. The
 * receiver decides whether the login proves mailbox access; this Action only reports it.
 *
 * The login waits for this code, so it fails open: it never denies, never throws, and
 * never spends more than MAILPROOF_TIMEOUT_MS on the network. A lost event is caught later
 * by mailproof's reconciliation sweep.
 *
 * Secrets: MAILPROOF_URL (full URL of POST /v1/events/post-login), MAILPROOF_SECRET
 * (whsec_… for HMAC "v1", or whsk_… for ed25519 "v1a"), optional MAILPROOF_TIMEOUT_MS.
 * No npm dependencies: a cold start costs login latency.
 */

const crypto = require('crypto');

const DEFAULT_TIMEOUT_MS = 2000;
const MIN_TIMEOUT_MS = 100;
const MAX_TIMEOUT_MS = 5000;
// A retry with less time than this left would mostly end in an abort anyway.
const RETRY_MIN_REMAINING_MS = 250;
// Auth0 keeps the first 256 characters of console output.
const MAX_LOG_LINE = 255;
const MAX_METHODS = 16;
const MAX_USER_AGENT = 1024;

// ed25519 private keys enter Node's crypto as PKCS#8 DER: this fixed prefix plus the seed.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
// Strict standard base64 with padding; Buffer.from(…, 'base64') alone skips bad characters.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// Signers keyed by the secret string. Under node22 module state survives across
// executions of one instance, so each secret is decoded (and its key object built) once.
// Bounded so a rotation does not keep old keys forever.
const signers = new Map();
const MAX_CACHED_SIGNERS = 4;

/** ConfigError marks a problem with the Action's secrets rather than with the network. */
class ConfigError extends Error {}

function decodeBase64(s) {
  if (s.length === 0 || !BASE64.test(s)) return null;
  return Buffer.from(s, 'base64');
}

/**
 * signerFor returns a function that signs Buffer content and returns one
 * webhook-signature entry ("v1,…" or "v1a,…"). Error messages never quote the secret.
 */
function signerFor(secret) {
  if (typeof secret !== 'string' || secret === '') {
    throw new ConfigError('MAILPROOF_SECRET missing');
  }
  const cached = signers.get(secret);
  if (cached) return cached;

  let sign;
  if (secret.startsWith('whsec_')) {
    const key = decodeBase64(secret.slice('whsec_'.length));
    if (!key || key.length < 24 || key.length > 64) {
      throw new ConfigError('MAILPROOF_SECRET whsec_ part must be base64 of 24 to 64 bytes');
    }
    sign = (content) => 'v1,' + crypto.createHmac('sha256', key).update(content).digest('base64');
  } else if (secret.startsWith('whsk_')) {
    const raw = decodeBase64(secret.slice('whsk_'.length));
    if (!raw || raw.length !== 64) {
      throw new ConfigError('MAILPROOF_SECRET whsk_ part must be base64 of 64 bytes (seed + public key)');
    }
    const privateKey = crypto.createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, raw.subarray(0, 32)]),
      format: 'der',
      type: 'pkcs8',
    });
    const publicKey = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(-32);
    // Go's ed25519 hashes the stored public half into every signature: a mismatch would
    // produce signatures no receiver accepts, so refuse it here, loudly.
    if (!publicKey.equals(raw.subarray(32))) {
      throw new ConfigError('MAILPROOF_SECRET whsk_ public half does not match its seed');
    }
    sign = (content) => 'v1a,' + crypto.sign(null, content, privateKey).toString('base64');
  } else {
    throw new ConfigError('MAILPROOF_SECRET must start with whsec_ or whsk_');
  }
  if (signers.size >= MAX_CACHED_SIGNERS) signers.clear();
  signers.set(secret, sign);
  return sign;
}

/** sign returns the webhook-signature entry for id.timestamp.payload under secret. */
function sign(secret, id, timestamp, payload) {
  return signerFor(secret)(Buffer.from(`${id}.${timestamp}.${payload}`, 'utf8'));
}

/** parseTimeout reads MAILPROOF_TIMEOUT_MS: whole milliseconds, clamped to sane bounds. */
function parseTimeout(value) {
  if (value === undefined || value === null || value === '') return DEFAULT_TIMEOUT_MS;
  const s = String(value).trim();
  if (!/^[0-9]{1,9}$/.test(s)) {
    throw new ConfigError('MAILPROOF_TIMEOUT_MS must be whole milliseconds');
  }
  return Math.min(MAX_TIMEOUT_MS, Math.max(MIN_TIMEOUT_MS, Number(s)));
}

function parseURL(value) {
  if (typeof value !== 'string' || value === '') throw new ConfigError('MAILPROOF_URL missing');
  let url;
  try {
    url = new URL(value);
  } catch (_) {
    throw new ConfigError('MAILPROOF_URL is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError('MAILPROOF_URL must be http(s)');
  }
  return url.href;
}

/** readConfig validates the Action's secrets; it throws ConfigError. */
function readConfig(secrets) {
  const s = secrets || {};
  return {
    url: parseURL(s.MAILPROOF_URL),
    sign: signerFor(s.MAILPROOF_SECRET),
    timeoutMs: parseTimeout(s.MAILPROOF_TIMEOUT_MS),
  };
}

function str(v) {
  if (typeof v === 'string') return v;
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.toISOString();
  return undefined;
}

function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function bool(v) {
  return typeof v === 'boolean' ? v : undefined;
}

function obj(v) {
  return v !== null && typeof v === 'object' ? v : {};
}

/**
 * buildBody copies, field by field, the part of Auth0's event the receiver's policy needs,
 * under Auth0's own names. Nothing is spread, so metadata, tokens and secrets cannot leak
 * in; JSON.stringify drops the fields that are undefined (absent in the event).
 */
function buildBody(event, now) {
  const e = obj(event);
  const tenant = obj(e.tenant);
  const transaction = obj(e.transaction);
  const session = obj(e.session);
  const connection = obj(e.connection);
  const methods = Array.isArray(obj(e.authentication).methods) ? e.authentication.methods : [];
  const request = obj(e.request);
  const user = obj(e.user);
  const ua = str(request.user_agent);

  const data = {
    tenant: { id: str(tenant.id) },
    transaction: { id: str(transaction.id) },
  };
  if (str(session.id) !== undefined) data.session = { id: session.id };
  data.connection = { id: str(connection.id), name: str(connection.name), strategy: str(connection.strategy) };
  data.authentication = {
    methods: methods.slice(0, MAX_METHODS).map((m) => ({ name: str(obj(m).name), timestamp: str(obj(m).timestamp) })),
  };
  data.stats = { logins_count: num(obj(e.stats).logins_count) };
  data.request = { ip: str(request.ip), user_agent: ua === undefined ? undefined : ua.slice(0, MAX_USER_AGENT) };
  data.user = {
    user_id: str(user.user_id),
    email: str(user.email),
    email_verified: bool(user.email_verified),
    created_at: str(user.created_at),
  };
  const reset = str(user.last_password_reset);
  if (reset !== undefined) data.user.last_password_reset = reset;

  return { type: 'auth0.post_login', timestamp: now.toISOString(), data };
}

function post(cfg, id, body, signal) {
  // A fresh timestamp and signature per attempt; the id stays: it is the idempotency key.
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(cfg.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': timestamp,
      'webhook-signature': cfg.sign(Buffer.from(`${id}.${timestamp}.${body}`, 'utf8')),
    },
    body,
    signal,
    // Following a redirect would send the signed event somewhere nobody configured.
    redirect: 'manual',
  });
}

/**
 * deliver POSTs body within cfg.timeoutMs in total. It retries once, and only after a
 * network error with enough budget left: an HTTP status is an answer, and an abort means
 * the budget is spent.
 */
async function deliver(cfg, body) {
  const id = 'msg_' + crypto.randomBytes(18).toString('base64url');
  const deadline = Date.now() + cfg.timeoutMs;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), cfg.timeoutMs);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await post(cfg, id, body, controller.signal);
        const text = await res.text();
        return { kind: 'answer', status: res.status, text, attempts: attempt };
      } catch (err) {
        if (controller.signal.aborted) return { kind: 'timeout', attempts: attempt };
        if (attempt >= 2 || deadline - Date.now() < RETRY_MIN_REMAINING_MS) {
          return { kind: 'network', err, attempts: attempt };
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

// token keeps a value on one log line and within a field: no spaces, no control characters.
function token(v, max = 128) {
  return String(v).replace(/[^\x21-\x7e]/g, '?').slice(0, max);
}

function logLine(outcome, userID, ...fields) {
  const parts = [`mailproof: ${outcome}`, `user_id=${token(userID)}`].concat(fields.filter(Boolean));
  const line = parts.join(' ');
  console.log(line.length > MAX_LOG_LINE ? line.slice(0, MAX_LOG_LINE) : line);
}

function networkReason(err) {
  const cause = err && err.cause;
  const why = (cause && (cause.code || cause.message)) || (err && (err.code || err.message)) || 'unknown';
  return token(why, 80);
}

/** report logs the one line that says how the delivery ended. */
function report(userID, cfg, result) {
  const tries = result.attempts > 1 ? `attempts=${result.attempts}` : '';
  if (result.kind === 'timeout') {
    return logLine('error', userID, `error=timeout after ${cfg.timeoutMs}ms`, tries);
  }
  if (result.kind === 'network') {
    return logLine('error', userID, `error=network: ${networkReason(result.err)}`, tries);
  }
  let answer = {};
  try {
    answer = obj(JSON.parse(result.text));
  } catch (_) {
    // Not JSON: the status alone tells what happened.
  }
  const s = result.status;
  if (s === 202 && answer.status === 'queued') {
    const job = answer.job_id === undefined ? '' : `job_id=${token(answer.job_id)}`;
    return logLine('queued', userID, job, tries);
  }
  if (s === 200 && answer.status === 'ignored') {
    const reason = answer.reason === undefined ? 'unknown' : answer.reason;
    return logLine('ignored', userID, `reason=${token(reason, 48)}`, tries);
  }
  if (s === 200 && answer.status === 'duplicate') {
    return logLine('duplicate', userID, tries);
  }
  const code = typeof obj(answer.error).code === 'string' ? ' ' + token(answer.error.code, 48) : '';
  const what = s >= 200 && s < 300 ? 'unexpected answer http' : 'http';
  return logLine('error', userID, `error=${what} ${s}${code}`, tries);
}

/**
 * onExecutePostLogin is Auth0's entry point. It reports unverified database-connection
 * logins to mailproof and never affects the login itself: api is deliberately unused.
 */
exports.onExecutePostLogin = async (event, api) => {
  let userID = '';
  try {
    const user = obj(obj(event).user);
    if (user.email_verified !== false || obj(event.connection).strategy !== 'auth0') return;
    userID = user.user_id;

    let cfg;
    try {
      cfg = readConfig(event.secrets);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return logLine('config_error', userID, `error=${err.message}`);
    }
    const body = JSON.stringify(buildBody(event, new Date()));
    report(userID, cfg, await deliver(cfg, body));
  } catch (err) {
    try {
      logLine('error', userID, `error=internal: ${token(err && err.message, 120)}`);
    } catch (_) {
      // Logging itself failed; the login must still go on.
    }
  }
};

// For the tests only; Auth0 calls nothing but onExecutePostLogin.
exports._sign = sign;
exports._signerFor = signerFor;
exports._buildBody = buildBody;
exports._parseTimeout = parseTimeout;
exports._readConfig = readConfig;
exports._ConfigError = ConfigError;
