'use strict';
// A stand-in for the mailproof receiver, for the Action's tests only (not a *.test.js
// file, so node --test does not run it). It verifies every request's Standard Webhooks
// signature with its own code, independent of post-login.js, and answers as scripted.

const crypto = require('node:crypto');
const http = require('node:http');

// ed25519 public keys enter Node's crypto as SPKI DER: this fixed prefix plus the key.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const FRESH_SECONDS = 5;

function entryMatches(version, signature, key, content) {
  if (version === 'v1' && key.startsWith('whsec_')) {
    const want = crypto.createHmac('sha256', Buffer.from(key.slice(6), 'base64')).update(content).digest();
    return signature.length === want.length && crypto.timingSafeEqual(signature, want);
  }
  if (version === 'v1a' && key.startsWith('whpk_')) {
    const publicKey = crypto.createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(key.slice(5), 'base64')]),
      format: 'der',
      type: 'spki',
    });
    return signature.length === 64 && crypto.verify(null, content, publicKey, signature);
  }
  return false;
}

/** verify returns '' when the request is validly signed under one of keys, else why not. */
function verify(keys, headers, body) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sig = headers['webhook-signature'];
  if (!id || !ts || !sig) return 'missing webhook header';
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return `bad id ${id}`;
  if (!/^[1-9][0-9]*$/.test(ts)) return `bad timestamp ${ts}`;
  if (Math.abs(Date.now() / 1000 - Number(ts)) > FRESH_SECONDS) return `stale timestamp ${ts}`;
  const content = Buffer.concat([Buffer.from(`${id}.${ts}.`), body]);
  for (const entry of sig.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0) continue;
    const signature = Buffer.from(entry.slice(comma + 1), 'base64');
    if (keys.some((key) => entryMatches(entry.slice(0, comma), signature, key, content))) return '';
  }
  return 'no signature matches';
}

/**
 * start listens on 127.0.0.1 and answers the n-th request (1-based) with respond(n):
 * {status, json, headers} answers, 'destroy' drops the connection, 'hang' never answers, and
 * {delayMs, then} waits first. Every request is recorded with its verification result.
 */
async function start({ keys, respond }) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method,
        path: req.url,
        headers: req.headers,
        body,
        verifyError: verify(keys, req.headers, body),
      });
      act(respond(requests.length), req, res);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/v1/events/post-login`,
    requests,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

function act(action, req, res) {
  if (action === 'destroy') return req.socket.destroy();
  if (action === 'hang') return undefined;
  if (action.delayMs !== undefined) {
    return setTimeout(() => act(action.then, req, res), action.delayMs);
  }
  const text = JSON.stringify(action.json);
  res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
  return res.end(text);
}

/** closedPortURL returns a URL on a loopback port nothing listens on any more. */
async function closedPortURL() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/v1/events/post-login`;
}

module.exports = { start, verify, closedPortURL };
