//go:build linux

package bench

import (
	"encoding/json"
	"sync/atomic"
	"syscall"
)

// counter names one of the engine's event counts.
type counter int

// Engine counters. cFail* count connection attempts that never opened, by
// cause; cClose* count open connections that closed, by reason.
const (
	cAttempts    counter = iota // connection attempts started
	cOpened                     // handshakes completed (101 with a valid accept)
	cClosed                     // open connections that closed since
	cWithID                     // connections that received their client id
	cDelivered                  // bench messages received, duplicates included
	cUnique                     // first receipts of a message by a stable client
	cDups                       // receipts of a message the client already had
	cUnverified                 // receipts too far behind to check for duplicates
	cMisrouted                  // messages for another stream (group, uid, client)
	cOther                      // other data frames
	cPongs                      // "pong" texts received (answers to heartbeats)
	cPingsSent                  // "ping" heartbeats sent
	cServerPings                // Ping control frames received and answered
	cChurnOpened                // churn clients that opened (included in cOpened)
	cJoins                      // churn bind/join API calls that succeeded
	cJoinErrors                 // churn bind/join API calls that failed
	cMsgsSent                   // inbound: text messages the clients sent
	cFailRefused
	cFailReset
	cFailTimeout
	cFailAddr
	cFailFiles
	cFailStatus
	cFailAccept
	cFailEOF
	cFailProtocol
	cFailAborted
	cFailOther
	cCloseEOF
	cCloseFrame
	cCloseReset
	cCloseProtocol
	cCloseWrite
	cCloseLocal
	numCounters
)

// counterNames are the JSON and table names of the counters.
var counterNames = [numCounters]string{
	"attempts", "opened", "closed", "with_id", "delivered", "unique", "duplicates",
	"unverified", "misrouted", "other_frames", "pongs", "pings_sent", "server_pings",
	"churn_opened", "joins", "join_errors", "msgs_sent",
	"fail_refused", "fail_reset", "fail_timeout", "fail_addr_unavailable", "fail_too_many_files",
	"fail_bad_status", "fail_bad_accept", "fail_eof", "fail_protocol", "fail_aborted", "fail_other",
	"close_eof", "close_frame", "close_reset", "close_protocol", "close_write_error", "close_local",
}

// failCounters are the cFail* counters in order, for summing and tables.
var failCounters = []counter{cFailRefused, cFailReset, cFailTimeout, cFailAddr, cFailFiles,
	cFailStatus, cFailAccept, cFailEOF, cFailProtocol, cFailAborted, cFailOther}

// counts is a snapshot of all counters; JSON is an object keyed by name.
type counts [numCounters]uint64

// failed returns the attempts that never opened.
func (c *counts) failed() uint64 {
	var n uint64
	for _, f := range failCounters {
		n += c[f]
	}
	return n
}

// open returns the connections open now.
func (c *counts) open() uint64 { return c[cOpened] - c[cClosed] }

// failures returns the non-zero failure counts by cause name.
func (c *counts) failures() map[string]uint64 {
	m := map[string]uint64{}
	for _, f := range failCounters {
		if c[f] > 0 {
			m[counterNames[f][len("fail_"):]] = c[f]
		}
	}
	return m
}

// add adds o into c.
func (c *counts) add(o *counts) {
	for i := range c {
		c[i] += o[i]
	}
}

// MarshalJSON writes the counters as a name-keyed object.
func (c counts) MarshalJSON() ([]byte, error) {
	m := make(map[string]uint64, numCounters)
	for i, v := range c {
		m[counterNames[i]] = v
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON wrote; unknown names are ignored.
func (c *counts) UnmarshalJSON(b []byte) error {
	var m map[string]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for i, name := range counterNames {
		c[i] = m[name]
	}
	return nil
}

// atomicCounts is the live, concurrency-safe form of counts.
type atomicCounts [numCounters]atomic.Uint64

func (a *atomicCounts) inc(c counter) { a[c].Add(1) }

func (a *atomicCounts) add(c counter, n uint64) { a[c].Add(n) }

func (a *atomicCounts) load() (c counts) {
	for i := range a {
		c[i] = a[i].Load()
	}
	return c
}

// errnoCounters maps a socket error to the counter for an attempt that fails
// with it and for an open connection that closes with it.
func errnoCounters(err error) (fail, closed counter) {
	switch err {
	case syscall.ECONNREFUSED:
		return cFailRefused, cCloseReset
	case syscall.ECONNRESET, syscall.EPIPE:
		return cFailReset, cCloseReset
	case syscall.ETIMEDOUT:
		return cFailTimeout, cCloseReset
	case syscall.EADDRNOTAVAIL, syscall.EADDRINUSE:
		return cFailAddr, cCloseReset
	case syscall.EMFILE, syscall.ENFILE:
		return cFailFiles, cCloseReset
	}
	return cFailOther, cCloseReset
}
