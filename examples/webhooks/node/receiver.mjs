// Example receiver for wsgate's signed webhooks: Node 20, no dependencies.
//
//   WEBHOOK_SECRET=whsec_... node receiver.mjs [--listen 127.0.0.1:9000] [--secret whsec_...,whsec_...]
//
// It verifies each request as the Standard Webhooks specification says
// (https://www.standardwebhooks.com/): headers webhook-id, webhook-timestamp
// (unix seconds) and webhook-signature, a space-separated list of
// "v1,<base64 HMAC-SHA256(key, id + '.' + timestamp + '.' + body)>" (several
// during a key rotation). A request is accepted when any v1 signature matches
// under any configured secret and the timestamp is within five minutes of this
// machine's clock; otherwise the answer is 401. Events already seen (by their
// "id") are dropped; each new one is printed as one line of JSON on stdout.
//
// A connect event is posted alone and waits for the answer: 200 with
// {"uid", "groups", "session"} (all optional) or 204 accepts the connection,
// 401 or 403 refuses it. This example answers {"uid": <the "user" query
// parameter of the WebSocket URL>} when there is one, 204 otherwise. Every
// other batch is asynchronous and needs only a 2xx: 204 here.

import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseArgs } from 'node:util';

const TOLERANCE_S = 5 * 60; // largest difference between webhook-timestamp and our clock
const MAX_BODY = 1 << 20; // a larger body is refused with 413
const RECENT_IDS = 10000; // event ids remembered for deduplication

const { values: args } = parseArgs({
  options: {
    listen: { type: 'string', default: process.env.WEBHOOK_LISTEN || '127.0.0.1:9000' },
    secret: { type: 'string', default: process.env.WEBHOOK_SECRET || '' },
  },
});

// "whsec_<base64 key>,..." -> HMAC keys.
function parseSecrets(list) {
  const keys = [];
  for (let s of list.split(',')) {
    s = s.trim();
    if (s === '') continue;
    const b64 = s.startsWith('whsec_') ? s.slice('whsec_'.length) : s;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('a webhook secret is not whsec_ followed by base64');
    keys.push(Buffer.from(b64, 'base64'));
  }
  if (keys.length === 0) throw new Error('no webhook secret: set WEBHOOK_SECRET or --secret');
  return keys;
}

// A bounded set of the last RECENT_IDS ids: a Map keeps insertion order.
const seen = new Map();
function firstTime(id) {
  if (seen.has(id)) return false;
  seen.set(id, true);
  if (seen.size > RECENT_IDS) seen.delete(seen.keys().next().value);
  return true;
}

// verify returns null when the request is genuine, else the reason.
function verify(keys, headers, body) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !ts || !sigs) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(ts)) return 'bad webhook-timestamp';
  if (Math.abs(Date.now() / 1000 - Number(ts)) > TOLERANCE_S) return 'webhook-timestamp too far from now';
  for (const key of keys) {
    const want = createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest();
    for (const sig of sigs.split(' ')) {
      if (!sig.startsWith('v1,')) continue; // another scheme (v1a, ...)
      const got = Buffer.from(sig.slice(3), 'base64');
      if (got.length === want.length && timingSafeEqual(got, want)) return null;
    }
  }
  return 'no valid signature';
}

function answer(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

function handle(keys, req, res, body) {
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return answer(res, 405, 'POST only');
  }
  // Verify the raw body before parsing anything in it.
  const problem = verify(keys, req.headers, body);
  if (problem) return answer(res, 401, problem);
  let batch;
  try {
    batch = JSON.parse(body.toString('utf8'));
  } catch {
    return answer(res, 400, 'body is not JSON');
  }
  if (!batch || !Array.isArray(batch.events)) return answer(res, 400, 'body is not {"events":[...]}');
  let connect = null;
  for (const ev of batch.events) {
    if (!ev || typeof ev !== 'object' || Array.isArray(ev)) return answer(res, 400, 'an event is not a JSON object');
    if (ev.type === 'connect') connect = ev;
    if (typeof ev.id === 'string' && ev.id !== '' && !firstTime(ev.id)) continue; // delivered before: already printed
    process.stdout.write(JSON.stringify(ev) + '\n');
  }
  // A retried connect gets the same answer: it is computed from the event.
  const user = connect ? new URLSearchParams(connect.query || '').get('user') : null;
  if (!user) {
    res.writeHead(204);
    return res.end();
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ uid: user }));
}

function main() {
  let keys;
  try {
    keys = parseSecrets(args.secret);
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
  const server = createServer({ requestTimeout: 10_000 }, (req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        if (!res.headersSent) {
          res.setHeader('connection', 'close');
          answer(res, 413, 'body too large');
          res.on('finish', () => req.destroy());
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size <= MAX_BODY) handle(keys, req, res, Buffer.concat(chunks));
    });
  });
  const i = args.listen.lastIndexOf(':');
  const host = args.listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(args.listen.slice(i + 1));
  server.listen(port, host, () => {
    const addr = server.address();
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    console.error(`listening on http://${shown}:${addr.port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main();
