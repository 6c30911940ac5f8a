// Package auth verifies the JSON Web Token (RFC 7519) a client presents at
// the WebSocket opening handshake and turns it into the identity the gateway
// binds to the connection: a uid, groups, an opaque session object and an
// expiry.
//
// # What it checks
//
// A [Verifier] is built from one key ([Config.Secret] for HMAC, or
// [Config.PublicKeyPEM] for RSA, ECDSA or Ed25519) and accepts only the
// signing algorithms of that key type (RFC 7518 section 3.1): a public key
// never accepts an HMAC token (the "RS/HS confusion" attack), an ECDSA key
// only the ES algorithm of its curve, and "none" is never accepted. It then
// checks exp, nbf and iat with [Config.Leeway] of clock skew, iss and aud when
// the Config names them, and the wsgate claims:
//
//   - "sub": the uid; it must pass [hub.CheckName]. A token without sub (or
//     with sub "") is valid and yields a verified client with no uid, which
//     gets its groups only.
//   - "groups": a string or an array of strings, each passing
//     [hub.CheckName], at most [Config.MaxGroups] distinct ones; duplicates
//     are dropped.
//   - "session": any JSON object of at most [Config.MaxSession] bytes once
//     compacted, handed on unchanged (the gateway forwards it to webhooks).
//   - "exp" is optional: a token without it never expires. When it is set,
//     [Claims.Expires] carries it and the gateway closes the connection when
//     it passes (close code 4001).
//
// The token comes from the raw query's "token" parameter (browsers cannot set
// headers on a WebSocket) or from an "Authorization: Bearer" header; see
// [Verifier.Check] for the rules when both or several are present.
//
// Errors are the ErrXxx sentinels of this package, matched with errors.Is.
// [Reason] gives a short text for a 401 body and [Kind] a stable label for
// metrics and logs. No error string ever contains the token or any part of
// it: the errors of the JWT library (which can quote header values or bytes
// of the token) are mapped to sentinels and never wrapped.
//
// # What it knows nothing about
//
// Sockets, the handshake itself, the registry and the hub's state: Check
// takes a raw query string and headers and returns values. It does not close
// connections at expiry, refuse handshakes or bind uids; the gateway does,
// from what Check returns. It imports hub and registry for their name rules
// and limits only.
//
// # Concurrency
//
// A Verifier is immutable after [New] and safe for concurrent use by any
// number of goroutines; Check holds no lock and does not block.
package auth
