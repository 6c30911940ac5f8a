//go:build linux

package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// apiTimeout bounds every REST API call; idle keep-alive connections close
// after apiIdleConn (and with them fasthttp's cleaner goroutine).
const (
	apiTimeout  = 10 * time.Second
	apiIdleConn = 2 * time.Second
)

// apiClient calls the gateway's REST API over keep-alive connections. It
// uses fasthttp because the load generator shares the machine's cores with
// the server it measures: a cheaper client takes less from the server. Safe
// for concurrent use.
type apiClient struct {
	hc   *fasthttp.HostClient
	base string // scheme://host:port
	auth string // Authorization header value, "" for none
}

// newAPIClient parses an http(s) base URL; conns bounds the open connections.
func newAPIClient(raw, token string, conns int) (*apiClient, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: -api %q: want http://HOST:PORT or https://HOST:PORT", ErrUsage, raw)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	a := &apiClient{
		base: u.Scheme + "://" + u.Host,
		hc: &fasthttp.HostClient{
			Addr: host, IsTLS: u.Scheme == "https", MaxConns: conns + 4,
			ReadTimeout: apiTimeout, WriteTimeout: apiTimeout, MaxIdleConnDuration: apiIdleConn,
			MaxConnWaitTimeout:       apiTimeout,
			NoDefaultUserAgentHeader: true,
		},
	}
	if token != "" {
		a.auth = "Bearer " + token
	}
	return a, nil
}

// close closes the idle keep-alive connections.
func (a *apiClient) close() { a.hc.CloseIdleConnections() }

// apiCallError is a failed call: Status is the HTTP status, or 0 when no
// response arrived (Err says why).
type apiCallError struct {
	Method, Path string
	Status       int
	Body         string
	Err          error
}

func (e *apiCallError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.Err)
	}
	return fmt.Sprintf("%s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

func (e *apiCallError) Unwrap() []error { return []error{ErrAPI, e.Err} }

// kind is a short name for counting failures: "timeout", "transport" or
// "status_NNN".
func (e *apiCallError) kind() string {
	switch {
	case e.Status != 0:
		return "status_" + strconv.Itoa(e.Status)
	case errors.Is(e.Err, fasthttp.ErrTimeout):
		return "timeout"
	}
	return "transport"
}

// call sends one request and appends the response body to dst. A non-2xx
// status is an *apiCallError.
func (a *apiClient) call(method, path string, body, dst []byte) ([]byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(a.base + path)
	req.Header.SetMethod(method)
	if a.auth != "" {
		req.Header.Set("Authorization", a.auth)
	}
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBodyRaw(body)
	}
	if err := a.hc.DoTimeout(req, resp, apiTimeout); err != nil {
		return dst, &apiCallError{Method: method, Path: path, Err: err}
	}
	if s := resp.StatusCode(); s/100 != 2 {
		b := resp.Body()
		return dst, &apiCallError{Method: method, Path: path, Status: s, Body: string(b[:min(len(b), 200)])}
	}
	return append(dst, resp.Body()...), nil
}

// send posts a prepared JSON body to a /send/* path and returns the "sent"
// count from the answer. dst is scratch space for the answer.
func (a *apiClient) send(path string, body, dst []byte) (sent int64, scratch []byte, err error) {
	dst, err = a.call(fasthttp.MethodPost, path, body, dst[:0])
	if err != nil {
		return 0, dst, err
	}
	_, after, ok := bytes.Cut(dst, []byte(`"sent":`))
	if !ok {
		return 0, dst, &apiCallError{Method: "POST", Path: path, Status: 200, Body: "answer has no \"sent\": " + string(dst[:min(len(dst), 100)])}
	}
	for _, c := range bytes.TrimLeft(after, " ") {
		if c < '0' || c > '9' {
			break
		}
		sent = sent*10 + int64(c-'0')
	}
	return sent, dst, nil
}

// postJSON posts v as JSON to path and decodes the answer into out (when
// not nil).
func (a *apiClient) postJSON(path string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	resp, err := a.call(fasthttp.MethodPost, path, body, nil)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(resp, out)
}

// getJSON gets path and decodes the answer into out.
func (a *apiClient) getJSON(path string, out any) error {
	resp, err := a.call(fasthttp.MethodGet, path, nil, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrAPI, path, err)
	}
	return nil
}

// join puts a client into a group (POST /group/join).
func (a *apiClient) join(clientID, group string) error {
	return a.postJSON("/group/join", map[string]string{"client_id": clientID, "group": group}, nil)
}

// bind binds a client to a uid (POST /uid/bind).
func (a *apiClient) bind(clientID, uid string) error {
	return a.postJSON("/uid/bind", map[string]string{"client_id": clientID, "uid": uid}, nil)
}

// serverCounts is what the gateway reports it holds.
type serverCounts struct {
	Clients int64 `json:"clients"`
	UIDs    int64 `json:"uids"`
	Groups  int64 `json:"groups"`
}

// counts reads GET /client/count, /uid/count and /group/total.
// nodes asks GET /cluster/nodes for each node's connections; a single node
// (or a server without the route) has none.
func (a *apiClient) nodes() []NodeCount {
	var v struct {
		Nodes []NodeCount `json:"nodes"`
	}
	if a.getJSON("/cluster/nodes", &v) != nil {
		return nil
	}
	return v.Nodes
}

func (a *apiClient) counts() (serverCounts, error) {
	var c serverCounts
	for _, q := range []struct {
		path string
		dst  *int64
	}{{"/client/count", &c.Clients}, {"/uid/count", &c.UIDs}, {"/group/total", &c.Groups}} {
		var v struct {
			Count int64 `json:"count"`
		}
		if err := a.getJSON(q.path, &v); err != nil {
			return c, err
		}
		*q.dst = v.Count
	}
	return c, nil
}
