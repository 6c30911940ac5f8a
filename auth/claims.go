package auth

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wsgate/wsgate/hub"
)

// Claims is what a valid token says about its client. It is owned by the
// caller.
//
// Check accepts a token until Expires plus the leeway, so the Expires of an
// accepted token may already be (just) past: a caller that closes the
// connection at expiry should do so at Expires plus the leeway.
type Claims struct {
	UID     string          // "sub"; "" when the token has none: a verified client without a uid
	Groups  []string        // "groups", distinct, in token order; nil when none
	Session json.RawMessage // "session", a compact JSON object; nil when none
	Expires time.Time       // "exp"; zero when the token has none (it never expires)
}

// wireClaims is the payload as decoded before the signature is checked:
// groups and session stay raw until the token is known to be genuine.
type wireClaims struct {
	jwt.RegisteredClaims
	Groups  json.RawMessage `json:"groups"`
	Session json.RawMessage `json:"session"`
}

// claims checks the wsgate claims of a verified token and returns them.
func (w *wireClaims) claims(maxGroups, maxSession int) (Claims, error) {
	var c Claims
	if w.Subject != "" {
		if err := hub.CheckName(w.Subject); err != nil {
			return Claims{}, fail(ErrClaims, "sub "+nameProblem(err))
		}
		c.UID = w.Subject
	}
	groups, err := decodeGroups(w.Groups, maxGroups)
	if err != nil {
		return Claims{}, err
	}
	c.Groups = groups
	if c.Session, err = compactSession(w.Session, maxSession); err != nil {
		return Claims{}, err
	}
	if w.ExpiresAt != nil {
		c.Expires = w.ExpiresAt.Time
	}
	return c, nil
}

// decodeGroups reads the groups claim: absent or null, a string, or an array
// of strings.
func decodeGroups(raw json.RawMessage, limit int) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	switch raw[0] {
	case '"':
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, fail(ErrClaims, "groups is not a string or an array of strings")
		}
		list = []string{one}
	case '[':
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fail(ErrClaims, "groups is not a string or an array of strings")
		}
	default:
		return nil, fail(ErrClaims, "groups is not a string or an array of strings")
	}
	if len(list) == 0 {
		return nil, nil
	}
	seen := make(map[string]struct{}, len(list))
	groups := list[:0]
	for i, g := range list {
		if err := hub.CheckName(g); err != nil {
			return nil, fail(ErrClaims, fmt.Sprintf("groups[%d] %s", i, nameProblem(err)))
		}
		if _, dup := seen[g]; dup {
			continue
		}
		seen[g] = struct{}{}
		groups = append(groups, g)
	}
	if len(groups) > limit {
		return nil, fail(ErrClaims, fmt.Sprintf("groups: %d names, the limit is %d", len(groups), limit))
	}
	return groups, nil
}

// compactSession checks that the session claim, when present, is a JSON
// object of at most limit bytes once compacted, and returns it compacted
// (nil for none or {}).
func compactSession(raw json.RawMessage, limit int) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	s, err := hub.CompactSession(raw)
	if err != nil {
		return nil, fail(ErrClaims, "session is not a JSON object")
	}
	if len(s) > limit {
		return nil, fail(ErrClaims, fmt.Sprintf("session: %d bytes, the limit is %d", len(s), limit))
	}
	return s, nil
}

// nameProblem is hub.CheckName's complaint without its package prefix; it
// states a length or an encoding problem, never the name.
func nameProblem(err error) string {
	return strings.TrimPrefix(err.Error(), hub.ErrInvalid.Error()+": ")
}
