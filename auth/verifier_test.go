package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// bearer returns headers carrying token as a Bearer credential.
func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// checkErr fails t unless err matches want (nil meaning success).
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil && err != nil {
		t.Fatalf("Check: %v, want success", err)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("Check: %v, want %v", err, want)
	}
}

func TestCheckAlgorithms(t *testing.T) {
	k := keys()
	hmacCfg := Config{Secret: k.secret}
	rsaCfg := Config{PublicKeyPEM: k.rsaPEM}
	tests := []struct {
		name   string
		cfg    Config
		method jwt.SigningMethod
		key    any
		want   error
	}{
		{"HS256", hmacCfg, jwt.SigningMethodHS256, k.secret, nil},
		{"HS384", hmacCfg, jwt.SigningMethodHS384, k.secret, nil},
		{"HS512", hmacCfg, jwt.SigningMethodHS512, k.secret, nil},
		{"RS256", rsaCfg, jwt.SigningMethodRS256, k.rsa, nil},
		{"RS512", rsaCfg, jwt.SigningMethodRS512, k.rsa, nil},
		{"PS256", rsaCfg, jwt.SigningMethodPS256, k.rsa, nil},
		{"RS256 PKCS1 PEM", Config{PublicKeyPEM: k.rsaPKCS1PEM}, jwt.SigningMethodRS256, k.rsa, nil},
		{"ES256", Config{PublicKeyPEM: k.p256PEM}, jwt.SigningMethodES256, k.p256, nil},
		{"ES384", Config{PublicKeyPEM: k.p384PEM}, jwt.SigningMethodES384, k.p384, nil},
		{"EdDSA", Config{PublicKeyPEM: k.edPEM}, jwt.SigningMethodEdDSA, k.ed, nil},

		{"HS256 wrong secret", hmacCfg, jwt.SigningMethodHS256, []byte("another secret of at least 32 bytes"), ErrSignature},
		{"RS256 wrong key", rsaCfg, jwt.SigningMethodRS256, k.rsa2, ErrSignature},
		{"ES256 wrong key", Config{PublicKeyPEM: k.p256PEM}, jwt.SigningMethodES256, k.p256b, ErrSignature},
		{"EdDSA wrong key", Config{PublicKeyPEM: k.edPEM}, jwt.SigningMethodEdDSA, k.ed2, ErrSignature},

		{"none to HMAC", hmacCfg, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ErrAlgorithm},
		{"none to RSA", rsaCfg, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, ErrAlgorithm},
		// The RS/HS confusion attack: HMAC keyed with the public key's PEM.
		{"HS256 keyed with RSA PEM", rsaCfg, jwt.SigningMethodHS256, k.rsaPEM, ErrAlgorithm},
		{"HS256 keyed with EdDSA PEM", Config{PublicKeyPEM: k.edPEM}, jwt.SigningMethodHS256, k.edPEM, ErrAlgorithm},
		{"ES256 to P-384", Config{PublicKeyPEM: k.p384PEM}, jwt.SigningMethodES256, k.p256, ErrAlgorithm},
		{"ES384 to P-256", Config{PublicKeyPEM: k.p256PEM}, jwt.SigningMethodES384, k.p384, ErrAlgorithm},
		{"RS256 to HMAC", hmacCfg, jwt.SigningMethodRS256, k.rsa, ErrAlgorithm},
		{"EdDSA to RSA", rsaCfg, jwt.SigningMethodEdDSA, k.ed, ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.cfg)
			claims, anon, err := v.Check("", bearer(sign(t, tt.method, tt.key, valid(nil))))
			checkErr(t, err, tt.want)
			if tt.want == nil && (anon || claims.UID != "alice") {
				t.Fatalf("Check = %+v, anonymous %v; want uid alice", claims, anon)
			}
			if tt.want != nil && (anon || claims.UID != "" || claims.Groups != nil) {
				t.Fatalf("refused Check returned claims %+v, anonymous %v", claims, anon)
			}
		})
	}
}

func TestCheckTimes(t *testing.T) {
	k := keys()
	now := time.Now()
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	tests := []struct {
		name   string
		leeway time.Duration
		claims jwt.MapClaims
		want   error
	}{
		{"valid", 0, valid(nil), nil},
		{"no exp", 0, valid(jwt.MapClaims{"exp": nil}), nil},
		{"expired", 0, valid(jwt.MapClaims{"exp": at(-time.Hour)}), ErrExpired},
		{"expired within default leeway", 0, valid(jwt.MapClaims{"exp": at(-10 * time.Second)}), nil},
		{"expired beyond 1s leeway", time.Second, valid(jwt.MapClaims{"exp": at(-10 * time.Second)}), ErrExpired},
		{"nbf in the future", 0, valid(jwt.MapClaims{"nbf": at(time.Hour)}), ErrNotYetValid},
		{"nbf within leeway", 0, valid(jwt.MapClaims{"nbf": at(10 * time.Second)}), nil},
		{"nbf past", 0, valid(jwt.MapClaims{"nbf": at(-time.Minute)}), nil},
		{"iat in the future", 0, valid(jwt.MapClaims{"iat": at(time.Hour)}), ErrNotYetValid},
		{"exp not a number", 0, valid(jwt.MapClaims{"exp": "tomorrow"}), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, Config{Secret: k.secret, Leeway: tt.leeway})
			claims, _, err := v.Check("", bearer(sign(t, jwt.SigningMethodHS256, k.secret, tt.claims)))
			checkErr(t, err, tt.want)
			if tt.want != nil {
				return
			}
			exp, hasExp := tt.claims["exp"].(int64)
			switch {
			case !hasExp && !claims.Expires.IsZero():
				t.Fatalf("Expires = %v, want zero for a token without exp", claims.Expires)
			case hasExp && !claims.Expires.Equal(time.Unix(exp, 0)):
				t.Fatalf("Expires = %v, want %v", claims.Expires, time.Unix(exp, 0))
			}
		})
	}
}

func TestCheckIssuerAudience(t *testing.T) {
	k := keys()
	tests := []struct {
		name   string
		cfg    Config
		claims jwt.MapClaims
		want   error
	}{
		{"issuer matches", Config{Issuer: "idp"}, valid(jwt.MapClaims{"iss": "idp"}), nil},
		{"issuer wrong", Config{Issuer: "idp"}, valid(jwt.MapClaims{"iss": "evil"}), ErrIssuer},
		{"issuer missing", Config{Issuer: "idp"}, valid(nil), ErrIssuer},
		{"issuer not configured", Config{}, valid(jwt.MapClaims{"iss": "anyone"}), nil},
		{"audience string", Config{Audience: "gw"}, valid(jwt.MapClaims{"aud": "gw"}), nil},
		{"audience in array", Config{Audience: "gw"}, valid(jwt.MapClaims{"aud": []string{"api", "gw"}}), nil},
		{"audience wrong", Config{Audience: "gw"}, valid(jwt.MapClaims{"aud": []string{"api"}}), ErrAudience},
		{"audience missing", Config{Audience: "gw"}, valid(nil), ErrAudience},
		{"both match", Config{Issuer: "idp", Audience: "gw"}, valid(jwt.MapClaims{"iss": "idp", "aud": "gw"}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Secret = k.secret
			v := newVerifier(t, tt.cfg)
			_, _, err := v.Check("", bearer(sign(t, jwt.SigningMethodHS256, k.secret, tt.claims)))
			checkErr(t, err, tt.want)
		})
	}
}

func TestCheckClaims(t *testing.T) {
	k := keys()
	long := strings.Repeat("x", 257)
	tests := []struct {
		name        string
		cfg         Config
		claims      jwt.MapClaims
		want        error
		wantUID     string
		wantGroups  []string
		wantSession string
	}{
		{"sub", Config{}, valid(nil), nil, "alice", nil, ""},
		{"no sub: verified, no uid", Config{}, valid(jwt.MapClaims{"sub": nil, "groups": "news"}), nil, "", []string{"news"}, ""},
		{"empty sub", Config{}, valid(jwt.MapClaims{"sub": ""}), nil, "", nil, ""},
		{"sub too long", Config{}, valid(jwt.MapClaims{"sub": long}), ErrClaims, "", nil, ""},
		{"sub not a string", Config{}, valid(jwt.MapClaims{"sub": 42}), ErrMalformed, "", nil, ""},

		{"groups string", Config{}, valid(jwt.MapClaims{"groups": "news"}), nil, "alice", []string{"news"}, ""},
		{"groups array, duplicates dropped", Config{}, valid(jwt.MapClaims{"groups": []string{"b", "a", "b"}}), nil, "alice", []string{"b", "a"}, ""},
		{"groups empty array", Config{}, valid(jwt.MapClaims{"groups": []string{}}), nil, "alice", nil, ""},
		{"groups null", Config{}, valid(jwt.MapClaims{"groups": jwtNull{}}), nil, "alice", nil, ""},
		{"groups number", Config{}, valid(jwt.MapClaims{"groups": 7}), ErrClaims, "", nil, ""},
		{"groups object", Config{}, valid(jwt.MapClaims{"groups": map[string]int{"a": 1}}), ErrClaims, "", nil, ""},
		{"groups array of numbers", Config{}, valid(jwt.MapClaims{"groups": []int{1, 2}}), ErrClaims, "", nil, ""},
		{"groups at the limit after dedup", Config{MaxGroups: 2}, valid(jwt.MapClaims{"groups": []string{"a", "b", "a"}}), nil, "alice", []string{"a", "b"}, ""},
		{"groups too many", Config{MaxGroups: 2}, valid(jwt.MapClaims{"groups": []string{"a", "b", "c"}}), ErrClaims, "", nil, ""},
		{"groups empty name", Config{}, valid(jwt.MapClaims{"groups": []string{"a", ""}}), ErrClaims, "", nil, ""},
		{"groups name too long", Config{}, valid(jwt.MapClaims{"groups": long}), ErrClaims, "", nil, ""},

		{"session object, compacted", Config{}, valid(jwt.MapClaims{"session": map[string]any{"plan": "pro", "n": []int{1, 2}}}), nil, "alice", nil, `{"n":[1,2],"plan":"pro"}`},
		{"session empty object is none", Config{}, valid(jwt.MapClaims{"session": map[string]any{}}), nil, "alice", nil, ``},
		{"session null", Config{}, valid(jwt.MapClaims{"session": jwtNull{}}), nil, "alice", nil, ""},
		{"session array", Config{}, valid(jwt.MapClaims{"session": []int{1}}), ErrClaims, "", nil, ""},
		{"session string", Config{}, valid(jwt.MapClaims{"session": "{}"}), ErrClaims, "", nil, ""},
		{"session at the limit", Config{MaxSession: 9}, valid(jwt.MapClaims{"session": map[string]int{"a": 1}}), nil, "alice", nil, `{"a":1}`},
		{"session too big", Config{MaxSession: 16}, valid(jwt.MapClaims{"session": map[string]string{"k": strings.Repeat("v", 16)}}), ErrClaims, "", nil, ""},
		{"session default limit", Config{}, valid(jwt.MapClaims{"session": map[string]string{"k": strings.Repeat("v", DefaultMaxSession)}}), ErrClaims, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Secret = k.secret
			v := newVerifier(t, tt.cfg)
			claims, anon, err := v.Check("", bearer(sign(t, jwt.SigningMethodHS256, k.secret, tt.claims)))
			checkErr(t, err, tt.want)
			if tt.want != nil {
				return
			}
			if anon {
				t.Fatal("a verified token reported anonymous")
			}
			if claims.UID != tt.wantUID || !slices.Equal(claims.Groups, tt.wantGroups) || string(claims.Session) != tt.wantSession {
				t.Fatalf("claims = uid %q groups %q session %s; want uid %q groups %q session %s",
					claims.UID, claims.Groups, claims.Session, tt.wantUID, tt.wantGroups, tt.wantSession)
			}
		})
	}
}

// jwtNull encodes as JSON null inside MapClaims (a nil value is deleted by valid).
type jwtNull struct{}

func (jwtNull) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

func TestCheckTokenSources(t *testing.T) {
	k := keys()
	good := sign(t, jwt.SigningMethodHS256, k.secret, valid(nil))
	other := sign(t, jwt.SigningMethodHS256, k.secret, valid(jwt.MapClaims{"sub": "bob"}))
	tests := []struct {
		name     string
		optional bool
		query    string
		header   http.Header
		want     error
		wantAnon bool
	}{
		{"query", false, "token=" + good, nil, nil, false},
		{"query among others", false, "room=1&token=" + good + "&x=%zz", nil, nil, false},
		{"query escaped key", false, "%74oken=" + good, nil, nil, false},
		{"header", false, "", bearer(good), nil, false},
		{"header lower-case scheme", false, "", http.Header{"Authorization": {"bearer " + good}}, nil, false},
		{"both equal", false, "token=" + good, bearer(good), nil, false},
		{"both different", false, "token=" + good, bearer(other), ErrAmbiguous, false},
		{"two token parameters", false, "token=" + good + "&token=" + good, nil, ErrAmbiguous, false},
		{"two Authorization headers", false, "", http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, ErrAmbiguous, false},
		{"bad escape in token", false, "token=%zz", nil, ErrMalformed, false},
		{"garbage", false, "token=abc", nil, ErrMalformed, false},
		{"four segments", false, "token=" + good + ".x", nil, ErrMalformed, false},
		{"too long", false, "token=" + strings.Repeat("a", MaxTokenBytes+1), nil, ErrMalformed, false},
		{"missing, required", false, "room=1", nil, ErrMissing, false},
		{"empty parameter, required", false, "token=", nil, ErrMissing, false},
		{"Basic scheme ignored, required", false, "", http.Header{"Authorization": {"Basic dXNlcjpwdw=="}}, ErrMissing, false},
		{"missing, optional", true, "", nil, nil, true},
		{"empty parameter, optional", true, "token=", nil, nil, true},
		{"bad token, optional: refused", true, "token=abc", nil, ErrMalformed, false},
		{"good token, optional", true, "", bearer(good), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, Config{Secret: k.secret, Optional: tt.optional})
			claims, anon, err := v.Check(tt.query, tt.header)
			checkErr(t, err, tt.want)
			if anon != tt.wantAnon {
				t.Fatalf("anonymous = %v, want %v", anon, tt.wantAnon)
			}
			if tt.want == nil && !anon && claims.UID != "alice" {
				t.Fatalf("uid = %q, want alice", claims.UID)
			}
		})
	}
}

func TestNew(t *testing.T) {
	k := keys()
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(k.p256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"}, NotAfter: time.Now().Add(time.Hour)}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.p256.PublicKey, k.p256)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})

	good := []struct {
		name string
		cfg  Config
		algs []string
	}{
		{"secret", Config{Secret: k.secret}, []string{"HS256", "HS384", "HS512"}},
		{"RSA", Config{PublicKeyPEM: k.rsaPEM}, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}},
		{"RSA PKCS1", Config{PublicKeyPEM: k.rsaPKCS1PEM}, []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}},
		{"P-256", Config{PublicKeyPEM: k.p256PEM}, []string{"ES256"}},
		{"P-384", Config{PublicKeyPEM: k.p384PEM}, []string{"ES384"}},
		{"Ed25519", Config{PublicKeyPEM: k.edPEM}, []string{"EdDSA"}},
		{"certificate", Config{PublicKeyPEM: certPEM}, []string{"ES256"}},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			if got := newVerifier(t, tt.cfg).Algorithms(); !slices.Equal(got, tt.algs) {
				t.Fatalf("Algorithms() = %q, want %q", got, tt.algs)
			}
		})
	}

	bad := []struct {
		name string
		cfg  Config
	}{
		{"no key", Config{}},
		{"both keys", Config{Secret: k.secret, PublicKeyPEM: k.rsaPEM}},
		{"short secret", Config{Secret: []byte("short")}},
		{"not PEM", Config{PublicKeyPEM: []byte("-----BEGIN nothing")}},
		{"garbage in PEM", Config{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")})}},
		{"private key", Config{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})}},
		{"RSA 1024", Config{PublicKeyPEM: pkixPEM(&small.PublicKey)}},
		{"P-224", Config{PublicKeyPEM: pkixPEM(&p224.PublicKey)}},
		{"negative leeway", Config{Secret: k.secret, Leeway: -time.Second}},
		{"negative MaxGroups", Config{Secret: k.secret, MaxGroups: -1}},
		{"negative MaxSession", Config{Secret: k.secret, MaxSession: -1}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.cfg)
			if !errors.Is(err, ErrConfig) || v != nil {
				t.Fatalf("New = %v, %v; want nil, ErrConfig", v, err)
			}
		})
	}
}

// TestSecretCopied: the Verifier keeps its own copy of Config.Secret.
func TestSecretCopied(t *testing.T) {
	k := keys()
	secret := slices.Clone(k.secret)
	v := newVerifier(t, Config{Secret: secret})
	clear(secret)
	if _, _, err := v.Check("", bearer(sign(t, jwt.SigningMethodHS256, k.secret, valid(nil)))); err != nil {
		t.Fatalf("Check after the caller cleared its secret: %v", err)
	}
}

// TestErrorsNeverQuoteToken feeds tokens that make the JWT library build
// errors from the token's own bytes and checks that no part of the token
// reaches Error() or Reason().
func TestErrorsNeverQuoteToken(t *testing.T) {
	k := keys()
	const marker = "SEKRITMARKER"
	enc := func(s string) string { return b64(s) }
	sig := enc(marker + "signature")
	tokens := []string{
		enc(`{"alg":"`+marker+`"}`) + "." + enc(`{"sub":"a"}`) + "." + sig,                                        // unknown alg
		enc(`{"alg":"RS256","x":"`+marker+`"}`) + "." + enc(`{}`) + "." + sig,                                     // alg not allowed
		enc(`{"alg":"HS256"}`) + "." + enc(`{"sub":"`+marker+`"}`) + "." + sig,                                    // bad signature
		enc(`{"alg":"HS256"}`) + "." + enc(`{"sub":`+marker+`}`) + "." + sig,                                      // bad claims JSON
		enc(`{"alg":`+marker+`}`) + "." + enc(`{}`) + "." + sig,                                                   // bad header JSON
		marker + "!!." + marker + "!!." + marker,                                                                  // bad base64
		enc(`{"alg":"HS256"}`) + "." + enc(`{"exp":"`+marker+`"}`) + "." + sig,                                    // exp of the wrong type
		enc(`{"alg":"none"}`) + "." + enc(`{"sub":"`+marker+`"}`) + ".",                                           // none
		sign(t, jwt.SigningMethodHS256, k.secret, valid(jwt.MapClaims{"sub": marker + strings.Repeat("x", 300)})), // bad sub, valid signature
		sign(t, jwt.SigningMethodHS256, k.secret, valid(jwt.MapClaims{"groups": []string{marker + strings.Repeat("x", 300)}})),
		sign(t, jwt.SigningMethodHS256, k.secret, valid(jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix(), "x": marker})),
	}
	v := newVerifier(t, Config{Secret: k.secret})
	for i, tok := range tokens {
		for _, src := range []struct {
			query  string
			header http.Header
		}{{"token=" + tok, nil}, {"", bearer(tok)}, {"token=" + tok, bearer(tok + "x")}} {
			_, _, err := v.Check(src.query, src.header)
			if err == nil {
				t.Fatalf("token %d accepted", i)
			}
			for _, jwtErr := range []error{jwt.ErrTokenMalformed, jwt.ErrTokenUnverifiable, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenInvalidClaims, jwt.ErrTokenExpired} {
				if errors.Is(err, jwtErr) {
					t.Fatalf("token %d: error %q wraps the JWT library's %q", i, err, jwtErr)
				}
			}
			for _, text := range []string{err.Error(), Reason(err)} {
				if strings.Contains(text, marker) || strings.Contains(text, tok) {
					t.Fatalf("token %d: error %q quotes the token", i, text)
				}
				for seg := range strings.SplitSeq(tok, ".") {
					if len(seg) >= 8 && strings.Contains(text, seg) {
						t.Fatalf("token %d: error %q quotes a segment of the token", i, text)
					}
				}
			}
		}
	}
}

func TestKindReason(t *testing.T) {
	tests := []struct {
		err    error
		kind   string
		reason string
	}{
		{nil, "", "unauthorized"},
		{errors.New("boom"), "other", "unauthorized"},
		{ErrMissing, "missing", "token missing"},
		{ErrAmbiguous, "ambiguous", "several different tokens"},
		{ErrMalformed, "malformed", "token malformed"},
		{ErrAlgorithm, "algorithm", "signing algorithm not allowed"},
		{ErrSignature, "signature", "signature invalid"},
		{ErrExpired, "expired", "token expired"},
		{ErrNotYetValid, "not_yet_valid", "token not valid yet"},
		{ErrIssuer, "issuer", "wrong issuer"},
		{ErrAudience, "audience", "wrong audience"},
		{ErrClaims, "claims", "invalid claims"},
		{fail(ErrClaims, "groups: 3 names, the limit is 2"), "claims", "invalid claims: groups: 3 names, the limit is 2"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			if got := Kind(tt.err); got != tt.kind {
				t.Errorf("Kind = %q, want %q", got, tt.kind)
			}
			if got := Reason(tt.err); got != tt.reason {
				t.Errorf("Reason = %q, want %q", got, tt.reason)
			}
		})
	}
	// Wrapped by the caller, the kind and reason survive.
	wrapped := errors.Join(errors.New("gateway: handshake"), fail(ErrNotYetValid, "nbf is in the future"))
	if Kind(wrapped) != "not_yet_valid" || Reason(wrapped) != "token not valid yet: nbf is in the future" {
		t.Errorf("wrapped: Kind %q Reason %q", Kind(wrapped), Reason(wrapped))
	}
}
