package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// scanFields reads a POST body that encoding/json has already accepted as
// syntactically valid and checks what encoding/json lets through silently:
//   - bytes that are not UTF-8, and \u escapes of lone surrogates, which it
//     turns into U+FFFD, so two different invalid names would become one;
//   - top-level keys that are not exactly a field name (it matches names
//     case-insensitively: "UID" would be taken for "uid");
//   - a key given twice (it keeps the last).
//
// It returns the fields present at the top level, whatever their values.
func scanFields(body []byte) (fields, error) {
	if !utf8.Valid(body) {
		return 0, badRequest("body is not valid UTF-8")
	}
	var got fields
	depth, key := 0, false // key: the next string at depth 1 is a member name
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			depth++
			key = depth == 1
		case '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			key = depth == 1
		case '"':
			end, err := stringEnd(body, i)
			if err != nil {
				return 0, err
			}
			if depth == 1 && key {
				f, name := fieldOf(body[i : end+1])
				switch {
				case f == fNone:
					return 0, badRequest("unknown field %q", truncate(name, 64))
				case got&(1<<f) != 0:
					return 0, badRequest("field %q given twice", name)
				}
				got |= 1 << f
				key = false
			}
			i = end
		}
	}
	return got, nil
}

// stringEnd returns the index of the quote that closes the JSON string
// starting at body[start], checking that every \u escape of a surrogate is a
// high one directly followed by a low one (RFC 8259 section 8.2).
func stringEnd(body []byte, start int) (int, error) {
	for i := start + 1; i < len(body); i++ {
		switch body[i] {
		case '"':
			return i, nil
		case '\\':
			i++
			if i >= len(body) || body[i] != 'u' {
				continue
			}
			r := hex4(body, i+1)
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return 0, badRequest("invalid JSON string: lone low surrogate \\u%04x", r)
			case r >= 0xD800 && r <= 0xDBFF:
				if i+6 >= len(body) || body[i+5] != '\\' || body[i+6] != 'u' {
					return 0, badRequest("invalid JSON string: lone high surrogate \\u%04x", r)
				}
				if lo := hex4(body, i+7); lo < 0xDC00 || lo > 0xDFFF {
					return 0, badRequest("invalid JSON string: high surrogate \\u%04x without a low one", r)
				}
				i += 6
			}
			i += 4
		}
	}
	return len(body), nil // unreachable for JSON encoding/json accepted
}

// hex4 reads the four hex digits at body[i:], or -1.
func hex4(body []byte, i int) int {
	if i+4 > len(body) {
		return -1
	}
	n, err := strconv.ParseUint(string(body[i:i+4]), 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}

// fieldOf maps a quoted member name to its field, exactly (fNone if none),
// and returns the name unquoted.
func fieldOf(quoted []byte) (field, string) {
	name := string(quoted[1 : len(quoted)-1])
	if bytes.IndexByte(quoted, '\\') >= 0 {
		json.Unmarshal(quoted, &name) //nolint:errcheck // valid: encoding/json parsed it
	}
	for f := fNone + 1; f < fieldCount; f++ {
		if fieldNames[f] == name {
			return f, name
		}
	}
	return fNone, name
}
