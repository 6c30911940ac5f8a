package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"hash"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// hmacValid is an independent check of an HMAC JWS (RFC 7515 section 5.2):
// the header names an HS alg and the signature is that HMAC of the signing
// input under secret.
func hmacValid(token string, secret []byte) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	headerJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var header struct{ Alg string }
	if json.Unmarshal(headerJSON, &header) != nil {
		return false
	}
	var h func() hash.Hash
	switch header.Alg {
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	default:
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	mac := hmac.New(h, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	return hmac.Equal(sig, mac.Sum(nil))
}

// FuzzCheck: Check never panics, gives the same answer for a token in the
// query and in the header, accepts only tokens whose HMAC is genuine, and its
// errors never quote the token.
func FuzzCheck(f *testing.F) {
	k := keys()
	claims := valid(jwt.MapClaims{"groups": []string{"a", "b"}, "session": map[string]int{"n": 1}})
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodHS384, jwt.SigningMethodHS512} {
		tok := sign(f, m, k.secret, claims)
		f.Add(tok)
		f.Add(tok[:len(tok)-2])
		f.Add(tok + "A")
	}
	f.Add(sign(f, jwt.SigningMethodHS256, k.secret, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}))
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims))
	f.Add(sign(f, jwt.SigningMethodRS256, k.rsa, claims))
	f.Add(b64(`{"alg":"HS256"}`) + "." + b64(`{"groups":7}`) + ".")
	f.Add("..")
	f.Add("")
	v := newVerifier(f, Config{Secret: k.secret})
	f.Fuzz(func(t *testing.T, token string) {
		_, _, errHeader := v.Check("", http.Header{"Authorization": {"Bearer " + token}})
		_, _, errQuery := v.Check("token="+url.QueryEscape(token), nil)
		if Kind(errHeader) != Kind(errQuery) {
			// Bearer credentials are trimmed, the query parameter is not.
			if strings.TrimSpace(token) == token {
				t.Fatalf("header: %v; query: %v", errHeader, errQuery)
			}
		}
		for _, err := range []error{errHeader, errQuery} {
			if err == nil && !hmacValid(strings.TrimSpace(token), k.secret) {
				t.Fatalf("accepted a token whose signature is not genuine: %q", token)
			}
			if err != nil && len(token) >= 8 && strings.Contains(err.Error(), token) {
				t.Fatalf("error %q quotes the token", err)
			}
			if Kind(err) == "other" {
				t.Fatalf("error %v is not one of the package's", err)
			}
		}
	})
}
