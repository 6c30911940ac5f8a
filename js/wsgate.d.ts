// Types of wsgate.js, the browser client of the wsgate push gateway.
// Behaviour, events and close codes: the comment at the top of wsgate.js and README.md.

/** Options of a WsGate; every one is optional. Times are milliseconds. */
export interface WsGateOptions {
  /** Called before every connection attempt; the value goes into the URL as ?token=. A rejection ends the attempt ("error", then a reconnect). */
  getToken?: (() => string | Promise<string>) | null;
  /** How often to send "ping" while open. Default 25000. */
  pingInterval?: number;
  /** How long the server may stay silent after a ping (and after the socket is created, until the id frame) before the client closes with 4000 and reconnects. Default 10000. */
  pongTimeout?: number;
  /** Backoff base: the n-th reconnect waits a random time in [0, min(maxDelay, minDelay * 2^n)]. Default 500. */
  minDelay?: number;
  /** Backoff cap. Default 20000. */
  maxDelay?: number;
  /** How long a connection must have been open for the backoff to start again from 0. Default 10000. */
  stableAfter?: number;
}

export type WsGateState = "idle" | "connecting" | "open" | "closed";

export interface ConnectingDetail {
  /** Attempts since the last stable connection (0 for the first). */
  attempt: number;
}
export interface ConnectedDetail {
  /** The id the gateway gave this connection (opaque; a new one every connection). */
  clientId: string;
}
export interface MessageDetail {
  /** A text frame's text, or a binary frame's bytes. */
  data: string | ArrayBuffer;
}
export interface DisconnectedDetail {
  /** The server's close code; 1006 when the connection broke or never opened; 4000 when the client gave up on a silent server; 1001 when the browser went offline; 1000 after close(). */
  code: number;
  reason: string;
  /** False after close() and after a code in TERMINAL_CLOSE_CODES. */
  willReconnect: boolean;
  /** Milliseconds until the next attempt; null when none is scheduled (not reconnecting, or waiting to be online). */
  delay: number | null;
}
export interface ErrorDetail {
  /** What getToken threw, or the URL's error. */
  error: unknown;
}

export interface WsGateEventMap {
  connecting: CustomEvent<ConnectingDetail>;
  connected: CustomEvent<ConnectedDetail>;
  message: CustomEvent<MessageDetail>;
  disconnected: CustomEvent<DisconnectedDetail>;
  error: CustomEvent<ErrorDetail>;
}

/** Server close codes after which the client does not reconnect: 1000, 1002, 1003, 1007, 1008, 1009. */
export declare const TERMINAL_CLOSE_CODES: readonly number[];

/** A connection to wsgate that reconnects by itself. Every "connecting" is followed by exactly one "disconnected". */
export declare class WsGate extends EventTarget {
  /** url: ws:// or wss:// (http(s):// becomes ws(s)://; relative resolves against the page). Throws RangeError/TypeError on bad options. */
  constructor(url: string | URL, options?: WsGateOptions);
  /** "idle" until connect(), "connecting" during an attempt and the wait before one, "open" once the id frame came, "closed" after close() or a terminal code. */
  readonly state: WsGateState;
  /** The open connection's id; null when not open. */
  readonly clientId: string | null;
  /** Starts connecting; does nothing while connecting or open. */
  connect(): void;
  /** Sends data when open; reports whether it did. */
  send(data: string | ArrayBufferLike | Blob | ArrayBufferView): boolean;
  /** Closes (1000) or abandons the attempt in progress, in any state; no reconnect until connect(). */
  close(): void;

  addEventListener<K extends keyof WsGateEventMap>(type: K, listener: (this: WsGate, ev: WsGateEventMap[K]) => any, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof WsGateEventMap>(type: K, listener: (this: WsGate, ev: WsGateEventMap[K]) => any, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
