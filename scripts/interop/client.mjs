// Interop client for wsgate on Node's `ws` (npm), driven by cmd/wsgate/interop_test.go.
//
// Usage: node client.mjs WS_URL [--no-deflate]
//
// It connects with the library's defaults (permessage-deflate offered unless
// --no-deflate), then prints one JSON line per event on stdout:
//
//   {"event":"open","library":"ws","version":...,"deflate_offered":bool,"deflate":bool,"extensions":...}
//   {"event":"id","id":...}                      the first frame (must be text)
//   {"event":"pong_text"}                        the "pong" answering our text "ping"
//   {"event":"pong_control","payload":...}       the Pong answering our WebSocket Ping
//   {"event":"message","binary":bool,"len":N,"sha256":...,"text_prefix":...}   every later message
//   {"event":"close","code":N,"reason":...}      the server's Close
//   {"event":"error","message":...}              anything wrong; the exit status is then 1
//
// text_prefix is the first 16 code points of a text message. It exits 0 after a
// Close without error, 1 after an error, and by itself within 30 s whatever
// happens. EOF on stdin (the test went away) aborts it: keep stdin open.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import WebSocket from 'ws';

const { version } = createRequire(import.meta.url)('ws/package.json');

const STEP_MS = 5000; // each step the client waits for by itself
const DEADLINE_MS = 28000; // the whole run
const PING_PAYLOAD = 'wsgate-interop-ping';

const [url, ...flags] = process.argv.slice(2);
const deflateOffered = !flags.includes('--no-deflate');

let failed = false;
let done = false;

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function exit() {
  if (done) return;
  done = true;
  // stdout to a pipe is synchronous on Linux; the callback also covers other platforms.
  process.stdout.write('', () => process.exit(failed ? 1 : 0));
}

function fail(message) {
  if (done) return;
  failed = true;
  emit({ event: 'error', message });
  exit();
}

if (!url) {
  emit({ event: 'error', message: 'usage: node client.mjs WS_URL [--no-deflate]' });
  process.exit(1);
}

setTimeout(() => fail(`deadline: no Close within ${DEADLINE_MS} ms`), DEADLINE_MS).unref();
process.stdin.on('end', () => fail('stdin closed: the driving test went away'));
process.stdin.resume();

// step arms a timer for what the client waits for by itself; a new step replaces it.
let stepTimer = null;
function step(what) {
  clearTimeout(stepTimer);
  stepTimer = what ? setTimeout(() => fail(`timed out after ${STEP_MS} ms waiting for ${what}`), STEP_MS) : null;
}

let ws;
try {
  ws = new WebSocket(url, { perMessageDeflate: deflateOffered, handshakeTimeout: STEP_MS });
} catch (err) {
  emit({ event: 'error', message: `${err.name}: ${err.message}` });
  process.exit(1);
}
let extensionsHeader = '';
let state = 'id'; // id, pongs, messages
let gotPongText = false;
let gotPongControl = false;

function pongsDone() {
  if (gotPongText && gotPongControl) {
    state = 'messages';
    step(null);
  }
}

ws.on('upgrade', (res) => {
  extensionsHeader = res.headers['sec-websocket-extensions'] ?? '';
});

ws.on('open', () => {
  emit({
    event: 'open',
    library: 'ws',
    version,
    deflate_offered: deflateOffered,
    deflate: extensionNames(ws.extensions).has('permessage-deflate'),
    extensions: extensionsHeader,
  });
  step('the id frame');
});

ws.on('message', (data, isBinary) => {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  if (state === 'id') {
    if (isBinary) return fail(`id frame is binary (${buf.length} bytes)`);
    emit({ event: 'id', id: buf.toString('utf8') });
    state = 'pongs';
    step('"pong" and the Pong');
    ws.send('ping');
    ws.ping(PING_PAYLOAD);
    return;
  }
  if (state === 'pongs' && !isBinary && !gotPongText && buf.toString('utf8') === 'pong') {
    gotPongText = true;
    emit({ event: 'pong_text' });
    return pongsDone();
  }
  const text = isBinary ? '' : buf.toString('utf8'); // ws has already checked it is UTF-8
  emit({
    event: 'message',
    binary: isBinary,
    len: buf.length,
    sha256: createHash('sha256').update(buf).digest('hex'),
    text_prefix: Array.from(text).slice(0, 16).join(''),
  });
});

ws.on('pong', (data) => {
  emit({ event: 'pong_control', payload: data.toString('utf8') });
  if (state === 'pongs' && !gotPongControl) {
    gotPongControl = true;
    pongsDone();
  }
});

// ws emits 'error' for protocol violations, handshake failures and socket errors,
// always followed by 'close'.
ws.on('error', (err) => {
  failed = true;
  emit({ event: 'error', message: `${err.code ?? 'error'}: ${err.message}` });
});

ws.on('close', (code, reason) => {
  step(null);
  emit({ event: 'close', code, reason: reason.toString('utf8') });
  exit();
});

// extensionNames returns the names in a Sec-WebSocket-Extensions value (ws.extensions
// is the negotiated one, '' when none was).
function extensionNames(header) {
  return new Set(header.split(',').map((part) => part.split(';')[0].trim()).filter(Boolean));
}
