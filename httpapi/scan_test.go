package httpapi

import (
	"strings"
	"testing"
)

func TestScanFields(t *testing.T) {
	for _, tt := range []struct {
		body string
		want fields
		err  string
	}{
		{`{"uid":"u","data":"x"}`, 1<<fUID | 1<<fData, ""},
		{`{"uid":"","data":null}`, 1<<fUID | 1<<fData, ""},
		{`{"data":{"UID":1,"uid":2,"x":[{"uid":3}]},"uids":["a"]}`, 1<<fData | 1<<fUIDs, ""},
		{`{"u\u0069d":"u"}`, 1 << fUID, ""},
		{`{"data":"say \"uid\": hi","group":"g"}`, 1<<fData | 1<<fGroup, ""},
		{`{"data":"\ud83d\ude00"}`, 1 << fData, ""},
		{`{"data":"\\ud800"}`, 1 << fData, ""}, // an escaped backslash, not an escape
		{`{"UID":"u"}`, 0, `unknown field "UID"`},
		{`{"Client_Id":"x"}`, 0, `unknown field "Client_Id"`},
		{`{"uid":"a","uid":"b"}`, 0, `field "uid" given twice`},
		{"{\"uid\":\"\xff\"}", 0, "not valid UTF-8"},
		{"{\"data\":\"ok\xfe\"}", 0, "not valid UTF-8"},
		{`{"uid":"\ud800"}`, 0, "lone high surrogate"},
		{`{"uid":"\udfff"}`, 0, "lone low surrogate"},
		{`{"uid":"\ud800\u0041"}`, 0, "without a low one"},
		{`{"data":["\ud800x"]}`, 0, "lone high surrogate"},
	} {
		got, err := scanFields([]byte(tt.body))
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("%s: %b, %v; want %b", tt.body, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: %v, want an error with %q", tt.body, err, tt.err)
		}
	}
}
