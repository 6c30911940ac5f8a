// Package gatewaytest runs a real wsgate gateway in-process for tests
// outside package gateway (the JavaScript client's, the examples'): both
// listeners on ephemeral loopback ports, logs discarded, shut down when the
// test ends.
//
// It is the one package besides cmd/ that imports gateway (make deps-check
// allows it): tests get a gateway the way an embedding program does.
//
// Concurrency: each Start gives its test its own gateway; Setup's
// process-wide settings are applied once per test binary.
package gatewaytest
