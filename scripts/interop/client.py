#!/usr/bin/python3
"""Interop client for wsgate on Python's websockets, driven by cmd/wsgate/interop_test.go.

Usage: /usr/bin/python3 client.py WS_URL [--no-deflate]

Run it with Debian's interpreter and package (python3-websockets, 10.4 on
bookworm): it uses the asyncio client, websockets.connect, whose API is the same
from 10.0 on. It connects with the library's defaults (permessage-deflate offered
unless --no-deflate) except max_size, then prints one JSON line per event on stdout,
the same lines as client.mjs:

  {"event":"open","library":"websockets","version":...,"deflate_offered":bool,"deflate":bool,"extensions":...}
  {"event":"id","id":...}                      the first frame (must be text)
  {"event":"pong_text"}                        the "pong" answering our text "ping"
  {"event":"pong_control","payload":...}       the Pong answering our WebSocket Ping
  {"event":"message","binary":bool,"len":N,"sha256":...,"text_prefix":...}   every later message
  {"event":"close","code":N,"reason":...}      the server's Close
  {"event":"error","message":...}              anything wrong; the exit status is then 1

text_prefix is the first 16 code points of a text message. It exits 0 after a
Close without error, 1 after an error, and by itself within 30 s whatever
happens. EOF on stdin (the test went away) aborts it: keep stdin open.
"""

import asyncio
import hashlib
import json
import os
import signal
import sys
import threading

import websockets

STEP_S = 5.0  # each step the client waits for by itself
DEADLINE_S = 28.0  # the whole run
PING_PAYLOAD = b"wsgate-interop-ping"
# The default max_size is exactly 1 MiB, the largest push the test sends; leave
# room so the limit is not what the test measures.
MAX_SIZE = 8 << 20


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Failure(Exception):
    """Something the test must hear about as an error event."""


async def step(what, aw):
    try:
        return await asyncio.wait_for(aw, STEP_S)
    except asyncio.TimeoutError:
        raise Failure(f"timed out after {STEP_S:g} s waiting for {what}") from None


def extension_names(header):
    return {part.split(";")[0].strip() for part in header.split(",") if part.strip()}


async def session(url, deflate_offered):
    ws = await step(
        "the handshake",
        websockets.connect(
            url,
            compression="deflate" if deflate_offered else None,
            max_size=MAX_SIZE,
            open_timeout=STEP_S,
        ),
    )
    try:
        header = ws.response_headers.get("Sec-WebSocket-Extensions", "")
        names = {ext.name for ext in ws.extensions}
        if names != extension_names(header):
            raise Failure(f"extensions {sorted(names)} differ from the response header {header!r}")
        emit(
            event="open",
            library="websockets",
            version=websockets.__version__,
            deflate_offered=deflate_offered,
            deflate="permessage-deflate" in names,
            extensions=header,
        )

        first = await step("the id frame", ws.recv())
        if not isinstance(first, str):
            raise Failure(f"id frame is binary ({len(first)} bytes)")
        emit(event="id", id=first)

        await ws.send("ping")
        # The waiter completes only on a Pong whose payload equals ours (or one
        # answering a later Ping; we send none): the payload is checked by the library.
        pong_waiter = await ws.ping(PING_PAYLOAD)
        reply = await step('"pong"', ws.recv())
        if reply != "pong":
            raise Failure(f'want "pong" after "ping", got {describe(reply)}')
        emit(event="pong_text")
        await step("the Pong", pong_waiter)
        emit(event="pong_control", payload=PING_PAYLOAD.decode())

        while True:
            msg = await ws.recv()  # bounded by DEADLINE_S; the test drives the pace
            raw = msg if isinstance(msg, bytes) else msg.encode("utf-8")
            emit(
                event="message",
                binary=isinstance(msg, bytes),
                len=len(raw),
                sha256=hashlib.sha256(raw).hexdigest(),
                text_prefix="" if isinstance(msg, bytes) else msg[:16],
            )
    except websockets.ConnectionClosed:
        await ws.wait_closed()
        if ws.close_rcvd is None:
            sent = ws.close_sent
            why = f"the client failed it with {sent.code} {sent.reason!r}" if sent else "no Close frame"
            raise Failure(f"connection closed without a server Close: {why}") from None
        emit(event="close", code=ws.close_code, reason=ws.close_reason)
    finally:
        await ws.close()


def describe(msg):
    if isinstance(msg, bytes):
        return f"{len(msg)} binary bytes"
    return repr(msg[:40])


def watch_stdin(loop, task):
    """Cancel task when stdin reaches EOF: the driving test went away."""
    try:
        while os.read(0, 4096):  # the raw fd: a buffered reader's lock aborts interpreter shutdown
            pass
    except OSError:
        pass
    try:
        loop.call_soon_threadsafe(task.cancel)
    except RuntimeError:  # the loop has already finished
        pass


async def main(argv):
    if len(argv) < 1:
        raise Failure("usage: client.py WS_URL [--no-deflate]")
    task = asyncio.current_task()
    threading.Thread(target=watch_stdin, args=(asyncio.get_running_loop(), task), daemon=True).start()
    coro = session(argv[0], "--no-deflate" not in argv[1:])
    try:
        await asyncio.wait_for(coro, DEADLINE_S)
    except asyncio.TimeoutError:
        raise Failure(f"deadline: no Close within {DEADLINE_S:g} s") from None


def run():
    signal.alarm(int(DEADLINE_S) + 2)  # last resort: SIGALRM ends the process
    try:
        asyncio.run(main(sys.argv[1:]))
    except Failure as e:
        emit(event="error", message=str(e))
        return 1
    except asyncio.CancelledError:
        emit(event="error", message="stdin closed: the driving test went away")
        return 1
    except Exception as e:  # handshake errors, protocol errors, anything else
        emit(event="error", message=f"{type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run())
