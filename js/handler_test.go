package wsgatejs_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	wsgatejs "github.com/wsgate/wsgate/js"
)

func TestHandlerServesTheEmbeddedFiles(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/js", wsgatejs.Handler()))
	defer srv.Close()
	for _, tc := range []struct {
		method, path, contentType string
		status                    int
	}{
		{"GET", "/js/wsgate.js", "text/javascript; charset=utf-8", 200},
		{"HEAD", "/js/wsgate.js", "text/javascript; charset=utf-8", 200},
		{"GET", "/js/wsgate.d.ts", "application/typescript; charset=utf-8", 200},
		{"GET", "/js/doc.go", "", 404},
		{"GET", "/js/", "", 404},
		{"POST", "/js/wsgate.js", "", 405},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			want, err := wsgatejs.FS.ReadFile(tc.path[len("/js/"):])
			if err != nil {
				t.Fatal(err)
			}
			if tc.method == "GET" && string(body) != string(want) {
				t.Errorf("body is not the embedded file (%d bytes, want %d)", len(body), len(want))
			}
			if tc.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD answered a body of %d bytes", len(body))
			}
		})
	}
}

func TestHandlerRevalidatesWithETag(t *testing.T) {
	srv := httptest.NewServer(wsgatejs.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/wsgate.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q: want an ETag and no-cache", etag, resp.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/wsgate.js", nil)
	req.Header.Set("If-None-Match", etag)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match with the ETag: status %d, want 304", resp.StatusCode)
	}
}
