// wsgate.js: the browser client of the wsgate WebSocket push gateway.
// One dependency-free ES module; wsgate.d.ts declares its types and
// README.md next to it explains the choices below.
//
//   import { WsGate } from "./wsgate.js";
//   const gw = new WsGate("ws://127.0.0.1:8282/", { getToken: async () => token });
//   gw.addEventListener("connected", (e) => tellBackend(e.detail.clientId));
//   gw.addEventListener("message", (e) => show(e.detail.data));
//   gw.connect();
//
// Protocol (see wsgate's README): the server's first frame is the client id
// (opaque text); the client sends "ping" and the server answers "pong";
// every other frame is a pushed message. Neither the id nor a "pong" is ever
// delivered as a "message".
//
// Events, each a CustomEvent whose detail is shown:
//   connecting   {attempt}      a connection attempt starts (attempt 0 after a stable connection)
//   connected    {clientId}     the id frame came: a new id on every connection
//   message      {data}         a pushed message: a string, or an ArrayBuffer for binary
//   disconnected {code, reason, willReconnect, delay}
//                               the attempt or connection ended; delay is the ms until the next
//                               attempt, null when none is scheduled (closed, or waiting to be online)
//   error        {error}        getToken failed, or the URL is not a WebSocket URL
// Every "connecting" is followed by exactly one "disconnected", with one
// "connected" between them when the id frame came.
//
// Reconnects: after any end but a terminal close code (TERMINAL_CLOSE_CODES)
// or close(), after a full-jitter backoff: a random delay in
// [0, min(maxDelay, minDelay * 2^n)], n counting the attempts since the last
// connection that lasted stableAfter ms. getToken is called before every
// attempt, so a 4001 ("token expired") reconnects with a fresh token.
//
// Heartbeat: "ping" every pingInterval ms while open; when nothing at all
// comes from the server within pongTimeout ms of a ping (any frame counts as
// a sign of life, as it does for the server), the client closes the socket
// with 4000 and reconnects. The opening handshake and the id frame must come
// within pongTimeout ms of the socket's creation, for the same reason.
//
// Network: while the browser says it is offline no attempt is made; going
// offline closes the connection (reported as 1001 "offline"), coming back
// online connects at once.

/**
 * Close codes from the server after which the client does not reconnect:
 * reconnecting could not fix their cause.
 *  1000 normal closure: the gateway sends it only when a backend closed this
 *       client through the API (a kick, a logout); a backend that wants the
 *       client back closes with 1012 or a 4xxx code other than these.
 *  1002 protocol error, 1003 unsupported data, 1007 invalid data: this client
 *       sent something wrong; it would again.
 *  1008 policy violation (the gateway: over -max-inbound-rate).
 *  1009 message too big (over -max-message): the same message would be again.
 * Everything else reconnects: 1001 going away (server shutdown), 1005/1006
 * (no Close frame: network loss), 1011, 1012 service restart, 1013 try again
 * later, 4000 heartbeat timeout, 4001 token expired, and any other code.
 */
export const TERMINAL_CLOSE_CODES = Object.freeze([1000, 1002, 1003, 1007, 1008, 1009]);

const DEFAULTS = Object.freeze({
  getToken: null,
  pingInterval: 25000,
  pongTimeout: 10000,
  minDelay: 500,
  maxDelay: 20000,
  stableAfter: 10000,
});

// The heartbeat close: the code the client closes with, as the server's own heartbeat timeout.
const SILENT = 4000;

export class WsGate extends EventTarget {
  #url;
  #opts;
  #state = "idle";
  #clientId = null; // set while "open"
  #ws = null; // the current socket, its handlers ours; null between attempts
  #inFlight = false; // a "connecting" was emitted and its "disconnected" not yet
  #gen = 0; // bumped by every attempt and by close(): an async step of an older one gives up
  #attempt = 0; // attempts since the last stable connection
  #openedAt = 0; // when the id frame came (ms), 0 when not open
  #offline = false;
  #pingsOut = 0; // pings not answered yet: that many "pong" frames are heartbeats
  #retryTimer = 0;
  #pingTimer = 0;
  #silenceTimer = 0; // runs while an answer (id frame or pong) is awaited
  #onOnline = () => this.#networkChange(false);
  #onOffline = () => this.#networkChange(true);

  /**
   * @param {string|URL} url ws:// or wss:// (http(s):// is turned into ws(s)://;
   *   a relative URL resolves against the page's)
   * @param {object} [options] see wsgate.d.ts
   */
  constructor(url, options = {}) {
    super();
    this.#url = url;
    this.#opts = { ...DEFAULTS, ...options };
    for (const k of ["pingInterval", "pongTimeout", "minDelay", "maxDelay", "stableAfter"]) {
      const v = this.#opts[k];
      if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
        throw new RangeError(`WsGate: ${k} must be a finite number >= 0, got ${v}`);
      }
    }
    if (this.#opts.pingInterval === 0 || this.#opts.pongTimeout === 0) {
      throw new RangeError("WsGate: pingInterval and pongTimeout must be above 0");
    }
    if (this.#opts.getToken !== null && typeof this.#opts.getToken !== "function") {
      throw new TypeError("WsGate: getToken must be a function");
    }
  }

  /** "idle" (never connected), "connecting" (an attempt or the wait before one), "open", "closed". */
  get state() {
    return this.#state;
  }

  /** The id of the open connection, null when not open. */
  get clientId() {
    return this.#clientId;
  }

  /** Starts connecting; does nothing while connecting or open. */
  connect() {
    if (this.#state === "connecting" || this.#state === "open") return;
    this.#attempt = 0;
    this.#offline = globalThis.navigator?.onLine === false;
    if (typeof globalThis.addEventListener === "function") {
      globalThis.addEventListener("online", this.#onOnline);
      globalThis.addEventListener("offline", this.#onOffline);
    }
    this.#state = "connecting";
    this.#attemptNow();
  }

  /** Sends data if open and reports whether it did. */
  send(data) {
    if (this.#state !== "open" || this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(data);
    return true;
  }

  /**
   * Closes the connection (1000) or abandons the attempt in progress, in any
   * state, and never reconnects until connect() is called again. An attempt
   * in progress ends with "disconnected" {code: 1000, willReconnect: false}.
   */
  close() {
    this.#stop();
    this.#end(1000, "closed by client", false, null);
  }

  // #stop abandons everything in progress and enters "closed", without an event.
  #stop() {
    this.#gen++;
    clearTimeout(this.#retryTimer);
    if (typeof globalThis.removeEventListener === "function") {
      globalThis.removeEventListener("online", this.#onOnline);
      globalThis.removeEventListener("offline", this.#onOffline);
    }
    this.#dropSocket(1000, "closed by client");
    this.#state = "closed";
  }

  // #attemptNow starts an attempt: a token, then a socket.
  async #attemptNow() {
    clearTimeout(this.#retryTimer);
    if (this.#offline) return; // the online event starts it
    const gen = ++this.#gen;
    this.#inFlight = true;
    this.#emit("connecting", { attempt: this.#attempt });
    if (gen !== this.#gen) return; // a listener called close()
    let url, ws;
    try {
      url = new URL(this.#url, globalThis.location?.href);
      if (url.protocol === "http:" || url.protocol === "https:") {
        url.protocol = url.protocol === "http:" ? "ws:" : "wss:";
      }
    } catch (error) {
      this.#fail(error, "bad URL", true); // retrying cannot help
      return;
    }
    if (this.#opts.getToken) {
      let token;
      try {
        token = await this.#opts.getToken();
      } catch (error) {
        if (gen === this.#gen) this.#fail(error, "getToken failed", false);
        return;
      }
      if (gen !== this.#gen) return;
      url.searchParams.set("token", String(token));
    }
    try {
      ws = new WebSocket(url);
    } catch (error) {
      this.#fail(error, "bad URL", true); // not a ws: or wss: URL
      return;
    }
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => this.#frame(e.data);
    ws.onclose = (e) => {
      this.#ws = null; // closed already: nothing to drop
      this.#lost(e.code, e.reason, TERMINAL_CLOSE_CODES.includes(e.code));
    };
    // ws.onerror is always followed by onclose, which reports the end.
    this.#ws = ws;
    this.#awaitAnswer("no id frame within pongTimeout");
  }

  // #fail ends the attempt in progress, which made no socket, with error.
  #fail(error, reason, terminal) {
    const gen = this.#gen;
    this.#emit("error", { error });
    if (gen === this.#gen) this.#lost(1006, reason, terminal); // else a listener called close()
  }

  // #frame handles one frame from the server.
  #frame(data) {
    clearTimeout(this.#silenceTimer);
    this.#silenceTimer = 0;
    if (this.#state !== "open") {
      this.#state = "open";
      this.#clientId = String(data);
      this.#openedAt = Date.now();
      this.#pingTimer = setInterval(() => this.#ping(), this.#opts.pingInterval);
      this.#emit("connected", { clientId: this.#clientId });
      return;
    }
    if (data === "pong" && this.#pingsOut > 0) {
      this.#pingsOut--;
      return;
    }
    this.#emit("message", { data });
  }

  #ping() {
    this.#ws.send("ping");
    this.#pingsOut++;
    if (!this.#silenceTimer) this.#awaitAnswer("no pong within pongTimeout");
  }

  // #awaitAnswer gives the server pongTimeout to send something.
  #awaitAnswer(reason) {
    this.#silenceTimer = setTimeout(() => {
      this.#dropSocket(SILENT, reason);
      this.#lost(SILENT, reason, false);
    }, this.#opts.pongTimeout);
  }

  // #networkChange follows the browser's online/offline events.
  #networkChange(offline) {
    this.#offline = offline;
    if (this.#state !== "connecting" && this.#state !== "open") return;
    if (offline) {
      clearTimeout(this.#retryTimer);
      if (this.#inFlight) {
        this.#dropSocket(1000, "offline");
        this.#lost(1001, "offline", false);
      }
    } else if (!this.#inFlight) {
      this.#attempt = 0;
      this.#attemptNow();
    }
  }

  // #dropSocket closes the current socket, if any, after detaching it, so
  // that nothing it does later reaches this client.
  #dropSocket(code, reason) {
    const ws = this.#ws;
    this.#stopTimers();
    if (!ws) return;
    this.#ws = null;
    ws.onmessage = ws.onclose = null;
    ws.close(code, reason);
  }

  #stopTimers() {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#silenceTimer);
    this.#pingTimer = this.#silenceTimer = 0;
    this.#pingsOut = 0;
  }

  // #lost ends the attempt or connection in progress (its socket is gone)
  // and schedules the next one unless terminal.
  #lost(code, reason, terminal) {
    this.#gen++; // an async step of this attempt (getToken) gives up
    this.#stopTimers();
    if (this.#openedAt && Date.now() - this.#openedAt >= this.#opts.stableAfter) {
      this.#attempt = 0;
    }
    if (terminal) {
      this.#stop();
      this.#end(code, reason, false, null);
      return;
    }
    this.#state = "connecting";
    let delay = null;
    if (!this.#offline) {
      const cap = Math.min(this.#opts.maxDelay, this.#opts.minDelay * 2 ** Math.min(this.#attempt, 30));
      delay = Math.floor(Math.random() * cap);
      this.#attempt++;
      this.#retryTimer = setTimeout(() => this.#attemptNow(), delay);
    }
    this.#end(code, reason, true, delay);
  }

  // #end emits the "disconnected" of the attempt in flight, if any.
  #end(code, reason, willReconnect, delay) {
    this.#clientId = null;
    this.#openedAt = 0;
    if (!this.#inFlight) return;
    this.#inFlight = false;
    this.#emit("disconnected", { code, reason, willReconnect, delay });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
