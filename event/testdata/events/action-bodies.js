// Regenerates the compact bodies the real Action sends (action-*.json) from
// Auth0 event objects, with the Action's own buildBody:
//   node event/testdata/events/action-bodies.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { _buildBody: buildBody } = require('../../../deploy/action/post-login.js');

const dir = __dirname;
const at = new Date('2026-11-24T10:15:03.120Z');
const full = JSON.parse(fs.readFileSync(path.join(dir, 'realistic-2k.json'), 'utf8')).data;

// A typical login: the full Auth0 event of realistic-2k.json, trimmed by the Action.
write('action-typical.json', buildBody(full, at));

// The largest body a real login gives in practice: a password login followed by
// two MFA factors, and a user agent at the 1 KiB the Action forwards (an in-app
// browser that appends its app and device tokens).
const big = structuredClone(full);
big.authentication.methods.push(
  { name: 'mfa', timestamp: '2026-11-24T10:15:02.990Z', type: 'otp' },
  { name: 'mfa', timestamp: '2026-11-24T10:15:03.050Z', type: 'webauthn-roaming' },
);
let ua = 'Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 ' +
  '(KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.135 Mobile Safari/537.36';
const tokens = ['[FBAN/EMA;FBLC/en_GB;FBAV/440.0.0.31.105;FBDM/DisplayMetrics{density=3.0,width=1080,height=2340}]',
  'AcmePortal/7.12.3 (com.acme.portal; build:71203; Android 14; SM-S918B; en_GB; tz:Europe/Amsterdam)',
  'AcmeSDK/3.4.1 (okhttp/4.12.0; webview/131.0.6778.135; cronet/131.0.6778.135)'];
for (let i = 0; ua.length < 1024; i++) ua += ' ' + tokens[i % tokens.length];
big.request.user_agent = ua;
write('action-2k.json', buildBody(big, at));

function write(name, body) {
  const s = JSON.stringify(body);
  fs.writeFileSync(path.join(dir, name), s);
  console.log(`${name}: ${Buffer.byteLength(s)} bytes`);
}
