//go:build linux

package bench

import "errors"

// Errors callers can branch on with errors.Is.
var (
	// ErrUsage wraps every error about bad flags or arguments.
	ErrUsage = errors.New("bad arguments")
	// ErrFitPoints: a line fit needs at least two points with distinct x.
	ErrFitPoints = errors.New("bench: a line fit needs at least two points with distinct x")
	// ErrAPI wraps a REST API call that failed or answered with an error status.
	ErrAPI = errors.New("bench: API call failed")
)

// Internal sentinels: handshake and frame outcomes (no allocation per
// connection) and engine state.
var (
	errBadStatus       = errors.New("bench: upgrade response status is not 101")
	errBadAccept       = errors.New("bench: Sec-WebSocket-Accept does not match the key")
	errFrameLength     = errors.New("bench: frame length has its most significant bit set")
	errEngineClosed    = errors.New("bench: engine is shut down")
	errHistogramBucket = errors.New("bench: histogram bucket index out of range")
)
