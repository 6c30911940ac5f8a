package auth

import (
	"errors"
	"strings"
)

// Errors [Verifier.Check] returns, matched with errors.Is. A returned error
// may carry a detail after the sentinel's text (which claim is wrong, say);
// the detail never quotes the token.
var (
	ErrMissing     = errors.New("auth: token missing")
	ErrAmbiguous   = errors.New("auth: several different tokens") // query and header disagree, or several token parameters
	ErrMalformed   = errors.New("auth: token malformed")
	ErrAlgorithm   = errors.New("auth: signing algorithm not allowed")
	ErrSignature   = errors.New("auth: signature invalid")
	ErrExpired     = errors.New("auth: token expired")
	ErrNotYetValid = errors.New("auth: token not valid yet") // nbf, or iat, in the future
	ErrIssuer      = errors.New("auth: wrong issuer")
	ErrAudience    = errors.New("auth: wrong audience")
	ErrClaims      = errors.New("auth: invalid claims") // sub, groups or session
)

// ErrConfig is what [New] returns, wrapped, for a Config it cannot use.
var ErrConfig = errors.New("auth: invalid config")

// kinds maps each Check sentinel to its label, in the order Kind tries them.
var kinds = []struct {
	err  error
	kind string
}{
	{ErrMissing, "missing"},
	{ErrAmbiguous, "ambiguous"},
	{ErrMalformed, "malformed"},
	{ErrAlgorithm, "algorithm"},
	{ErrSignature, "signature"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrIssuer, "issuer"},
	{ErrAudience, "audience"},
	{ErrClaims, "claims"},
}

// Kind returns a stable, low-cardinality label for an error of
// [Verifier.Check], such as "expired" or "signature", for metrics and logs:
// "" for nil and "other" for an error that is not one of this package's.
func Kind(err error) string {
	if err == nil {
		return ""
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "other"
}

// Reason returns a short human text for an error of [Verifier.Check],
// suitable as the body of a 401 answer: the sentinel's text without the
// package prefix, and its detail if any ("invalid claims: groups: 1001 names,
// the limit is 1000"). It never contains the token. For an error that is not
// one of this package's it returns "unauthorized".
func Reason(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return strings.TrimPrefix(f.Error(), "auth: ")
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return strings.TrimPrefix(k.err.Error(), "auth: ")
		}
	}
	return "unauthorized"
}

// failure is a Check sentinel with a detail written by this package, never
// text taken from the token or from the JWT library.
type failure struct {
	err    error
	detail string
}

func (f *failure) Error() string { return f.err.Error() + ": " + f.detail }
func (f *failure) Unwrap() error { return f.err }

// fail returns sentinel err with detail, or err itself when detail is "".
func fail(err error, detail string) error {
	if detail == "" {
		return err
	}
	return &failure{err: err, detail: detail}
}
