package wsgatejs

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// FS holds wsgate.js and wsgate.d.ts at its root.
//
//go:embed wsgate.js wsgate.d.ts
var FS embed.FS

// contentTypes are the types the files are served with. A .ts file must not
// be left to the mime package: system tables map .ts to video/mp2t.
var contentTypes = map[string]string{
	"wsgate.js":   "text/javascript; charset=utf-8",
	"wsgate.d.ts": "application/typescript; charset=utf-8",
}

// file is one embedded file, ready to serve.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// handler serves the files of FS by name.
type handler map[string]file

// Handler serves GET and HEAD of /wsgate.js and /wsgate.d.ts (mount it with
// http.StripPrefix) with their content types, an ETag (answering
// If-None-Match with 304) and Cache-Control: no-cache, so browsers revalidate
// and pick up a new version at once. Other paths get 404, other methods 405.
func Handler() http.Handler {
	h := handler{}
	for name, ct := range contentTypes {
		body, err := FS.ReadFile(name)
		if err != nil {
			panic("wsgatejs: " + name + " is not embedded: " + err.Error())
		}
		sum := sha256.Sum256(body)
		h[name] = file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	}
	return h
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := h[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
