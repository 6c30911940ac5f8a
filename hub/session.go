package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CompactSession checks that s is one JSON object and returns it compacted
// (nil for "{}": no session), in a new slice the caller may keep. Its error
// wraps ErrInvalid.
func CompactSession(s json.RawMessage) ([]byte, error) {
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(s); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		return nil, fmt.Errorf("%w: session must be a JSON object", ErrInvalid)
	}
	if len(obj) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, s); err != nil {
		return nil, fmt.Errorf("%w: session must be a JSON object", ErrInvalid)
	}
	return b.Bytes(), nil
}

// mergeSession merges the compacted object patch into old (RFC 7396 at the
// top level: patch's keys replace old's, a null removes the key) and returns
// a new object, keys sorted; nil when nothing is left.
func mergeSession(old, patch []byte) ([]byte, error) {
	obj := map[string]json.RawMessage{}
	if old != nil {
		if err := json.Unmarshal(old, &obj); err != nil {
			return nil, err // the registry only holds objects CompactSession made
		}
	}
	var p map[string]json.RawMessage
	if patch != nil {
		if err := json.Unmarshal(patch, &p); err != nil {
			return nil, err
		}
	}
	for k, v := range p {
		if string(v) == "null" {
			delete(obj, k)
		} else {
			obj[k] = v
		}
	}
	if len(obj) == 0 {
		return nil, nil
	}
	// Not json.Marshal: it would HTML-escape <, > and & in every value
	// (6 bytes each), growing what the client was given.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
