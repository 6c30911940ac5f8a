package auth

import (
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkCheck is the verification cost of one connect: a token with sub,
// two groups, a small session and exp, in the Authorization header.
func BenchmarkCheck(b *testing.B) {
	k := keys()
	claims := valid(jwt.MapClaims{"groups": []string{"news", "room:42"}, "session": map[string]string{"plan": "pro"}})
	for _, bc := range []struct {
		alg    string
		cfg    Config
		method jwt.SigningMethod
		key    any
	}{
		{"HS256", Config{Secret: k.secret}, jwt.SigningMethodHS256, k.secret},
		{"RS256", Config{PublicKeyPEM: k.rsaPEM}, jwt.SigningMethodRS256, k.rsa},
		{"ES256", Config{PublicKeyPEM: k.p256PEM}, jwt.SigningMethodES256, k.p256},
		{"EdDSA", Config{PublicKeyPEM: k.edPEM}, jwt.SigningMethodEdDSA, k.ed},
	} {
		b.Run("alg="+bc.alg, func(b *testing.B) {
			v := newVerifier(b, bc.cfg)
			header := http.Header{"Authorization": {"Bearer " + sign(b, bc.method, bc.key, claims)}}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := v.Check("", header); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
