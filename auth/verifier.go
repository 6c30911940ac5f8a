package auth

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/registry"
)

// Defaults for the zero values of [Config], and fixed limits.
const (
	DefaultLeeway     = 30 * time.Second
	DefaultMaxSession = 4096
	DefaultMaxGroups  = registry.DefaultMaxGroupsPerClient

	// MaxTokenBytes bounds a token; a longer one is ErrMalformed before any
	// decoding.
	MaxTokenBytes = 8 << 10
	// MinSecretBytes is the shortest HMAC key New accepts: the output size of
	// SHA-256, the least RFC 7518 section 3.2 allows for HS256.
	MinSecretBytes = 32
	// MinRSABits is the smallest RSA modulus New accepts.
	MinRSABits = 2048
)

// Config configures a [Verifier]. Zero values mean the documented defaults.
type Config struct {
	// Secret is the HMAC key (HS256, HS384 and HS512 are accepted), at least
	// MinSecretBytes long. Exactly one of Secret and PublicKeyPEM is set.
	Secret []byte
	// PublicKeyPEM is a PEM "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY" (PKCS #1) or
	// "CERTIFICATE" block; only its first block is read. RSA keys (at least
	// MinRSABits) accept RS256/384/512 and PS256/384/512, ECDSA keys the ES
	// algorithm of their curve (P-256 ES256, P-384 ES384, P-521 ES512),
	// Ed25519 keys EdDSA. Private keys are refused.
	PublicKeyPEM []byte
	// Issuer and Audience, when set, must be the token's iss and one of its
	// aud values; a token without them is then refused.
	Issuer, Audience string
	// Leeway is the clock skew allowed when checking exp, nbf and iat; 0
	// means DefaultLeeway. Negative is an error.
	Leeway time.Duration
	// Optional lets a connection that presents no token in anonymously
	// (Check reports anonymous). A token that is presented is always checked:
	// a bad one is refused, never downgraded to anonymous.
	Optional bool
	// MaxSession is the largest "session" claim, in bytes of compact JSON;
	// 0 means DefaultMaxSession.
	MaxSession int
	// MaxGroups is the most distinct groups a token may name; 0 means
	// DefaultMaxGroups.
	MaxGroups int
}

// Verifier checks handshake tokens against one key. It is immutable and safe
// for concurrent use.
type Verifier struct {
	parser     *jwt.Parser
	key        any      // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	algs       []string // the algorithms key accepts
	issuer     string
	audience   string
	optional   bool
	maxSession int
	maxGroups  int
}

// New returns a Verifier for cfg, or an error wrapping ErrConfig: neither or
// both keys set, a short secret, a PEM block that is not a supported public
// key, a negative limit or leeway.
func New(cfg Config) (*Verifier, error) {
	if cfg.Leeway < 0 || cfg.MaxSession < 0 || cfg.MaxGroups < 0 {
		return nil, fmt.Errorf("%w: Leeway, MaxSession and MaxGroups must not be negative", ErrConfig)
	}
	var (
		key  any
		algs []string
		err  error
	)
	switch {
	case len(cfg.Secret) > 0 && len(cfg.PublicKeyPEM) > 0:
		return nil, fmt.Errorf("%w: both Secret and PublicKeyPEM are set", ErrConfig)
	case len(cfg.Secret) > 0:
		if len(cfg.Secret) < MinSecretBytes {
			return nil, fmt.Errorf("%w: Secret is %d bytes, at least %d are needed", ErrConfig, len(cfg.Secret), MinSecretBytes)
		}
		key, algs = slices.Clone(cfg.Secret), []string{"HS256", "HS384", "HS512"}
	case len(cfg.PublicKeyPEM) > 0:
		if key, algs, err = parsePublicKey(cfg.PublicKeyPEM); err != nil {
			return nil, fmt.Errorf("%w: PublicKeyPEM: %w", ErrConfig, err)
		}
	default:
		return nil, fmt.Errorf("%w: neither Secret nor PublicKeyPEM is set", ErrConfig)
	}
	return &Verifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods(algs),
			jwt.WithLeeway(cmp.Or(cfg.Leeway, DefaultLeeway)),
			jwt.WithIssuedAt(),
		),
		key:        key,
		algs:       algs,
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		optional:   cfg.Optional,
		maxSession: cmp.Or(cfg.MaxSession, DefaultMaxSession),
		maxGroups:  cmp.Or(cfg.MaxGroups, DefaultMaxGroups),
	}, nil
}

// parsePublicKey reads the first PEM block of data and returns its public key
// and the algorithms that key accepts.
func parsePublicKey(data []byte) (any, []string, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, errors.New("no PEM block found")
	}
	var (
		pub any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		return nil, nil, fmt.Errorf("PEM block %q is not a public key or certificate", block.Type)
	}
	if err != nil {
		return nil, nil, err
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return nil, nil, fmt.Errorf("RSA key is %d bits, at least %d are needed", k.N.BitLen(), MinRSABits)
		}
		return k, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return k, []string{"ES256"}, nil
		case elliptic.P384():
			return k, []string{"ES384"}, nil
		case elliptic.P521():
			return k, []string{"ES512"}, nil
		}
		return nil, nil, fmt.Errorf("ECDSA curve %s has no JWS algorithm", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return k, []string{"EdDSA"}, nil
	}
	return nil, nil, fmt.Errorf("unsupported public key type %T", pub)
}

// Algorithms returns the JWS "alg" values the Verifier accepts, in a new
// slice.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.algs) }

// Check finds the handshake's token in query (the raw query, without '?') or
// header and verifies it.
//
// The token is the "token" query parameter or the credentials of an
// "Authorization: Bearer <token>" header (scheme case-insensitive; other
// schemes are ignored). An empty value counts as no token. Both present and
// equal is fine; both present and different, several "token" parameters or
// several Authorization headers is ErrAmbiguous.
//
// With no token, Check returns anonymous true and a nil error if
// Config.Optional is set, and ErrMissing otherwise. With a valid token it
// returns its claims, anonymous false and a nil error; a token without sub
// gives Claims.UID "". Every other outcome is an error matching one of the
// ErrXxx sentinels; the claims are then zero.
func (v *Verifier) Check(query string, header http.Header) (claims Claims, anonymous bool, err error) {
	raw, err := findToken(query, header)
	switch {
	case err != nil:
		return Claims{}, false, err
	case raw == "" && v.optional:
		return Claims{}, true, nil
	case raw == "":
		return Claims{}, false, ErrMissing
	case len(raw) > MaxTokenBytes:
		return Claims{}, false, fail(ErrMalformed, fmt.Sprintf("longer than %d bytes", MaxTokenBytes))
	}
	var wire wireClaims
	token, err := v.parser.ParseWithClaims(raw, &wire, v.keyFunc)
	if err != nil {
		return Claims{}, false, v.mapError(token, err)
	}
	if v.issuer != "" && wire.Issuer != v.issuer {
		return Claims{}, false, ErrIssuer
	}
	if v.audience != "" && !slices.Contains(wire.Audience, v.audience) {
		return Claims{}, false, ErrAudience
	}
	claims, err = wire.claims(v.maxGroups, v.maxSession)
	if err != nil {
		return Claims{}, false, err
	}
	return claims, false, nil
}

// keyFunc hands the parser the one key; the parser has already checked that
// the token's alg is one of v.algs.
func (v *Verifier) keyFunc(*jwt.Token) (any, error) { return v.key, nil }

// mapError turns an error of the JWT library into a sentinel of this package.
// The library's error is dropped, not wrapped: its text can quote the token
// (its alg, bytes of its JSON).
func (v *Verifier) mapError(token *jwt.Token, err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case errors.Is(err, jwt.ErrTokenUnverifiable): // alg missing or unknown
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		// WithValidMethods reports a refused alg as a bad signature too.
		if token != nil && token.Method != nil && !slices.Contains(v.algs, token.Method.Alg()) {
			return ErrAlgorithm
		}
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fail(ErrNotYetValid, "nbf is in the future")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fail(ErrNotYetValid, "iat is in the future")
	}
	return ErrClaims
}
