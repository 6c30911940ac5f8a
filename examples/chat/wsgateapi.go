package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// wsgateAPI calls the few endpoints of wsgate's REST API the chat uses
// (httpapi/API.md). Safe for concurrent use.
type wsgateAPI struct {
	base  string // http://host:port, no trailing slash
	token string // sent as a bearer token when not ""
	http  *http.Client
}

func newWSGateAPI(base, token string) *wsgateAPI {
	return &wsgateAPI{base: base, token: token, http: &http.Client{Timeout: 5 * time.Second}}
}

func (a *wsgateAPI) bindUID(ctx context.Context, clientID, uid string) error {
	return a.post(ctx, "/uid/bind", map[string]any{"client_id": clientID, "uid": uid})
}

func (a *wsgateAPI) joinGroup(ctx context.Context, clientID, group string) error {
	return a.post(ctx, "/group/join", map[string]any{"client_id": clientID, "group": group})
}

// sendGroup pushes data, as its compact JSON text, to every member of group.
func (a *wsgateAPI) sendGroup(ctx context.Context, group string, data any) error {
	return a.post(ctx, "/send/group", map[string]any{"group": group, "data": data})
}

// groupUIDs is the distinct uids of group's members.
func (a *wsgateAPI) groupUIDs(ctx context.Context, group string) ([]string, error) {
	var out struct {
		UIDs []string `json:"uids"`
	}
	err := a.get(ctx, "/group/uids?group="+url.QueryEscape(group), &out)
	return out.UIDs, err
}

// clientOnline reports whether the client is connected to wsgate.
func (a *wsgateAPI) clientOnline(ctx context.Context, clientID string) (bool, error) {
	var out struct {
		Online bool `json:"online"`
	}
	err := a.get(ctx, "/client/online?client_id="+url.QueryEscape(clientID), &out)
	return out.Online, err
}

func (a *wsgateAPI) post(ctx context.Context, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return a.do(ctx, http.MethodPost, path, bytes.NewReader(b), nil)
}

func (a *wsgateAPI) get(ctx context.Context, path string, out any) error {
	return a.do(ctx, http.MethodGet, path, nil, out)
}

// Errors of a call wsgate answered: 404 on a POST (the client is not
// connected) and 400 (it refused the input).
var (
	errNotFound = errors.New("wsgate: client not connected")
	errRefused  = errors.New("wsgate refused the request")
)

// do makes one request and decodes a 200's JSON answer into out (nil: ignored).
func (a *wsgateAPI) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("wsgate %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wsgate %s %s: %w", method, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && method == http.MethodPost:
		return errNotFound
	case resp.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("%w: %s", errRefused, bytes.TrimSpace(raw))
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("wsgate %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))
	case out != nil:
		return json.Unmarshal(raw, out)
	}
	return nil
}
