package auth

import (
	"net/http"
	"net/url"
	"strings"
)

// findToken returns the token of a handshake, "" when there is none; see
// Verifier.Check for the rules.
func findToken(query string, header http.Header) (string, error) {
	fromQuery, err := queryToken(query)
	if err != nil {
		return "", err
	}
	fromHeader, err := bearerToken(header)
	if err != nil {
		return "", err
	}
	if fromQuery != "" && fromHeader != "" && fromQuery != fromHeader {
		return "", fail(ErrAmbiguous, "the token parameter and the Authorization header differ")
	}
	if fromQuery != "" {
		return fromQuery, nil
	}
	return fromHeader, nil
}

// queryToken returns the value of the one "token" parameter of a raw query.
// Other parameters are not decoded, so a malformed one elsewhere in the query
// (the application's own) does not matter.
func queryToken(query string) (string, error) {
	var token string
	found := false
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		key, value, _ := strings.Cut(pair, "=")
		if key != "token" {
			if !strings.Contains(key, "%") {
				continue
			}
			if k, err := url.QueryUnescape(key); err != nil || k != "token" {
				continue
			}
		}
		if found {
			return "", fail(ErrAmbiguous, "several token parameters")
		}
		found = true
		v, err := url.QueryUnescape(value)
		if err != nil {
			return "", fail(ErrMalformed, "the token parameter is not query-escaped correctly")
		}
		token = v
	}
	return token, nil
}

// bearerToken returns the credentials of an "Authorization: Bearer" header
// (RFC 6750 section 2.1), "" when there is none or it uses another scheme.
func bearerToken(header http.Header) (string, error) {
	values := header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", fail(ErrAmbiguous, "several Authorization headers")
	}
	scheme, credentials, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	return strings.TrimSpace(credentials), nil
}
