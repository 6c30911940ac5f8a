package webhook

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// appendEvent appends e's JSON to dst: the same bytes as json.Marshal(e)
// (field order, omitted parts, HTML-safe string escapes, invalid UTF-8 as
// U+FFFD, RawMessage compacted), without reflection: the gateway encodes
// one event per client message. A json.RawMessage in e must be valid JSON,
// as every one the Sender holds is: one that is compact and has nothing to
// escape is copied unchecked, another that is invalid panics.
func appendEvent(dst []byte, e *event) []byte {
	dst = appendString(append(dst, `{"id":`...), e.ID)
	dst = appendString(append(dst, `,"type":`...), e.Type)
	dst = appendString(append(dst, `,"time":`...), e.Time)
	dst = appendString(append(dst, `,"node":`...), e.Node)
	if e.Epoch != 0 {
		dst = strconv.AppendInt(append(dst, `,"epoch":`...), e.Epoch, 10)
	}
	if p := e.clientPart; p != nil {
		dst = appendString(append(dst, `,"client_id":`...), p.ClientID)
		dst = appendString(append(dst, `,"uid":`...), p.UID)
		dst = appendStrings(append(dst, `,"groups":`...), p.Groups)
		dst = appendRaw(append(dst, `,"session":`...), p.Session)
		dst = appendString(append(dst, `,"remote_addr":`...), p.RemoteAddr)
	}
	if p := e.connectPart; p != nil {
		dst = appendString(append(dst, `,"path":`...), p.Path)
		dst = appendString(append(dst, `,"query":`...), p.Query)
		dst = append(dst, `,"headers":`...)
		if p.Headers == nil {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, '{')
			keys := make([]string, 0, len(p.Headers))
			for k := range p.Headers {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for i, k := range keys {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(append(appendString(dst, k), ':'), p.Headers[k])
			}
			dst = append(dst, '}')
		}
	}
	if e.Data != nil {
		dst = appendString(append(dst, `,"data":`...), *e.Data)
	}
	if e.DataBase64 != nil {
		dst = appendString(append(dst, `,"data_base64":`...), *e.DataBase64)
	}
	if p := e.closePart; p != nil {
		dst = strconv.AppendInt(append(dst, `,"code":`...), int64(p.Code), 10)
		dst = appendString(append(dst, `,"reason":`...), p.Reason)
		dst = appendString(append(dst, `,"by":`...), p.By)
	}
	return append(dst, '}')
}

// appendStrings appends a JSON array of strings (null for nil).
func appendStrings(dst []byte, list []string) []byte {
	if list == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

// appendRaw appends raw JSON as json.Marshal writes a json.RawMessage:
// null for nil, else compacted with <, >, & and U+2028/U+2029 escaped in
// strings. A compact value with none of those is copied as is.
func appendRaw(dst []byte, raw json.RawMessage) []byte {
	if raw == nil {
		return append(dst, "null"...)
	}
	if !bytes.ContainsAny(raw, " \t\r\n<>&\u2028\u2029") {
		return append(dst, raw...)
	}
	var compact, escaped bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		panic("webhook: encoding an event: " + err.Error())
	}
	json.HTMLEscape(&escaped, compact.Bytes())
	return append(dst, escaped.Bytes()...)
}

// hexDigits are the digits of \u escapes, lower case as encoding/json
// writes them.
const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes that go into a JSON string as they are.
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

// appendString appends s as a JSON string the way json.Marshal does:
// ", \ and control characters escaped (\b \f \n \r \t short), <, > and &
// as \u003c \u003e \u0026, invalid UTF-8 as \ufffd, U+2028 and U+2029 as
// \u2028 and \u2029.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}
