package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gobwas/ws"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wsframe"
)

// maxReasonSize is the longest close reason (RFC 6455 section 5.5: 125 minus the code).
const maxReasonSize = 123

// request is the union of every POST body's fields. Unknown fields are an
// error, and so is a field of this vocabulary that the route does not take
// (see post), so a typo or a mix-up is reported instead of silently ignored.
type request struct {
	ClientID   string          `json:"client_id"`
	ClientIDs  []string        `json:"client_ids"`
	UID        string          `json:"uid"`
	UIDs       []string        `json:"uids"`
	Group      string          `json:"group"`
	Groups     []string        `json:"groups"`
	Exclude    []string        `json:"exclude"`
	Data       json.RawMessage `json:"data"`
	DataBase64 *string         `json:"data_base64"`
	Code       *int            `json:"code"`
	Reason     string          `json:"reason"`
	Session    json.RawMessage `json:"session"`
	Merge      bool            `json:"merge"`
}

// field names one member of request. A list form directly follows its single
// form (fClientID, fClientIDs).
type field uint8

const (
	fNone field = iota
	fClientID
	fClientIDs
	fUID
	fUIDs
	fGroup
	fGroups
	fExclude
	fData
	fDataBase64
	fCode
	fReason
	fSession
	fMerge
	fieldCount
)

var fieldNames = [fieldCount]string{"", "client_id", "client_ids", "uid", "uids", "group", "groups", "exclude", "data", "data_base64", "code", "reason", "session", "merge"}

// fields is a set of fields, bit i for field i.
type fields uint32

// errBadRequest marks validation failures (answered with 400).
var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
}

// decodeRequest parses a JSON body into a request whose fields must all be
// in allowed. It rejects trailing data.
func decodeRequest(body []byte, allowed fields) (request, error) {
	var r request
	if len(bytes.TrimSpace(body)) == 0 {
		return r, badRequest("empty body: expected a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, badRequest("invalid JSON: %v", err)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return r, badRequest("invalid JSON: data after the object")
	}
	present, err := scanFields(body)
	if err != nil {
		return r, err
	}
	if extra := present &^ allowed; extra != 0 {
		for f := fNone + 1; f < fieldCount; f++ {
			if extra&(1<<f) != 0 {
				return r, badRequest("field %q does not apply to this endpoint", fieldNames[f])
			}
		}
	}
	return r, nil
}

// frame builds the message to push: "data" (a JSON string is sent as its text,
// any other JSON value as its compact JSON text, in a text frame) or
// "data_base64" (a binary frame). Exactly one must be present.
func (r *request) frame() (*wsframe.Frame, error) {
	hasData := len(r.Data) > 0 && !bytes.Equal(r.Data, []byte("null"))
	switch {
	case hasData && r.DataBase64 != nil:
		return nil, badRequest("give data or data_base64, not both")
	case r.DataBase64 != nil:
		p, err := base64.StdEncoding.DecodeString(*r.DataBase64)
		if err != nil {
			return nil, badRequest("data_base64 is not valid base64: %v", err)
		}
		return wsframe.NewFrame(ws.OpBinary, p), nil
	case !hasData:
		return nil, badRequest("missing data (or data_base64)")
	case r.Data[0] == '"':
		var s string
		if err := json.Unmarshal(r.Data, &s); err != nil {
			return nil, badRequest("data: %v", err)
		}
		return wsframe.NewFrame(ws.OpText, []byte(s)), nil
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, r.Data); err != nil {
			return nil, badRequest("data: %v", err)
		}
		return wsframe.NewFrame(ws.OpText, buf.Bytes()), nil
	}
}

// targets returns the names in field one (client_id, uid or group) or its
// list form, validated.
func (r *request) targets(one field) ([]string, error) {
	switch one {
	case fClientID:
		return oneOrMany("client_id", r.ClientID, r.ClientIDs, checkClientID)
	case fUID:
		return oneOrMany("uid", r.UID, r.UIDs, checkName)
	}
	return oneOrMany("group", r.Group, r.Groups, checkName)
}

// groupsArg validates the client id and the groups of a join or leave.
func (r *request) groupsArg() ([]string, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	return r.targets(fGroup)
}

// oneOrMany returns the single value or the list, requiring exactly one form.
func oneOrMany(field, one string, many []string, check func(string, string) error) ([]string, error) {
	switch {
	case one != "" && many != nil:
		return nil, badRequest("give %s or %ss, not both", field, field)
	case one != "":
		if err := check(field, one); err != nil {
			return nil, err
		}
		return []string{one}, nil
	case many == nil:
		return nil, badRequest("missing %s (or %ss)", field, field)
	}
	if len(many) == 0 {
		return nil, badRequest("%ss is empty", field)
	}
	if err := checkList(field+"s", many, check); err != nil {
		return nil, err
	}
	return many, nil
}

func checkList(field string, list []string, check func(string, string) error) error {
	if len(list) > hub.MaxListItems {
		return badRequest("%s has %d items, the limit is %d", field, len(list), hub.MaxListItems)
	}
	for _, v := range list {
		if err := check(field, v); err != nil {
			return err
		}
	}
	return nil
}

// checkClientID accepts the ids the gateway issues: canonical 36-character UUIDs.
func checkClientID(field, id string) error {
	if id == "" {
		return badRequest("missing %s", field)
	}
	if !hub.IsClientID(id) {
		return badRequest("%s %q is not a client id (a 36-character UUID)", field, truncate(id, 64))
	}
	return nil
}

// checkName accepts uid and group names (hub.CheckName).
func checkName(field, name string) error {
	if name == "" {
		return badRequest("missing %s", field)
	}
	if err := hub.CheckName(name); err != nil {
		return badRequest("%s %s", field, strings.TrimPrefix(err.Error(), hub.ErrInvalid.Error()+": "))
	}
	return nil
}

// closeArgs validates the optional close code (1000 or 3000-4999, RFC 6455
// section 7.4) and reason; the default code is 1000.
func (r *request) closeArgs() (uint16, string, error) {
	code := 1000
	if r.Code != nil {
		code = *r.Code
		if code != 1000 && (code < 3000 || code > 4999) {
			return 0, "", badRequest("code %d: use 1000 or 3000-4999", code)
		}
	}
	if len(r.Reason) > maxReasonSize {
		return 0, "", badRequest("reason is %d bytes, the limit is %d", len(r.Reason), maxReasonSize)
	}
	return uint16(code), r.Reason, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
