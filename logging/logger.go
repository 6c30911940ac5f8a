package logging

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
)

// Formats New accepts.
const (
	FormatText = "text" // logfmt-style key=value lines (slog.TextHandler)
	FormatJSON = "json" // one JSON object per line (slog.JSONHandler)
)

// New returns a logger writing lines of format (FormatText or FormatJSON) at
// level ("debug", "info", "warn", "error", or slog's "info+2" forms) and above
// to w.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case FormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("format %q: want %s or %s", format, FormatText, FormatJSON)
}

// RedactURL hides the credentials of every URL in a comma-separated list:
// a password becomes "xxxxx" (url.URL.Redacted), and so does a user part
// without one (NATS takes a bare token there). An item with an '@' that does
// not parse is replaced whole.
func RedactURL(list string) string {
	items := strings.Split(list, ",")
	for i, item := range items {
		if !strings.Contains(item, "@") {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(item))
		if err != nil || u.User == nil {
			items[i] = "(unparsable URL with credentials)"
			continue
		}
		if _, has := u.User.Password(); !has {
			u.User = url.User("xxxxx")
		}
		items[i] = u.Redacted()
	}
	return strings.Join(items, ",")
}
