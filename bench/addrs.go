//go:build linux

package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// maxLocalAddrs bounds -local-addrs: 4096 source addresses times ~28,000
// ports is far beyond any run this harness makes.
const maxLocalAddrs = 4096

// ParseLocalAddrs parses a -local-addrs value: a comma-separated list of IP
// addresses and inclusive ranges "FIRST-LAST" of one family, for example
// "127.0.0.2-127.0.0.20,127.0.1.1". The empty string yields nil. Errors wrap
// ErrUsage and name the offending part.
func ParseLocalAddrs(s string) ([]netip.Addr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []netip.Addr
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		first, last, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(strings.TrimSpace(first))
		if err != nil {
			return nil, fmt.Errorf("%w: -local-addrs: %q is not an IP address", ErrUsage, first)
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(strings.TrimSpace(last)); err != nil {
				return nil, fmt.Errorf("%w: -local-addrs: %q is not an IP address", ErrUsage, last)
			}
			if a.Is4() != b.Is4() {
				return nil, fmt.Errorf("%w: -local-addrs: range %q mixes IPv4 and IPv6", ErrUsage, part)
			}
			if b.Less(a) {
				return nil, fmt.Errorf("%w: -local-addrs: range %q ends before it starts", ErrUsage, part)
			}
		}
		for x := a; ; x = x.Next() {
			if len(out) == maxLocalAddrs {
				return nil, fmt.Errorf("%w: -local-addrs: more than %d addresses", ErrUsage, maxLocalAddrs)
			}
			out = append(out, x)
			if x == b {
				break
			}
		}
	}
	return out, nil
}

// resolveTargets resolves a comma-separated list of ws:// URLs (the nodes of
// a cluster, say).
func resolveTargets(ctx context.Context, raw string) ([]target, error) {
	var out []target
	for _, u := range strings.Split(raw, ",") {
		t, err := resolveTarget(ctx, strings.TrimSpace(u))
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// target is a resolved WebSocket endpoint: where to connect and what to put
// in the opening handshake.
type target struct {
	addr netip.AddrPort
	host string // Host header value
	path string // request target, at least "/"
}

// resolveTarget parses a ws:// URL and resolves its host once, so every
// connection goes to the same explicitly given address. wss:// is refused:
// the engine speaks plain TCP.
func resolveTarget(ctx context.Context, raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, fmt.Errorf("%w: -ws %q: %v", ErrUsage, raw, err)
	}
	if u.Scheme != "ws" {
		return target{}, fmt.Errorf("%w: -ws %q: scheme must be ws:// (wss:// is not supported: terminate TLS in front of the server)", ErrUsage, raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return target{}, fmt.Errorf("%w: -ws %q: bad port %q", ErrUsage, raw, port)
	}
	ip, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
		if lerr != nil || len(ips) == 0 {
			return target{}, fmt.Errorf("%w: -ws %q: cannot resolve host: %v", ErrUsage, raw, lerr)
		}
		ip = ips[0]
	}
	path := u.RequestURI()
	if path == "" {
		path = "/"
	}
	return target{addr: netip.AddrPortFrom(ip.Unmap(), uint16(p)), host: u.Host, path: path}, nil
}

// checkLocalAddrs reports an error when a source address cannot reach the
// target: a loopback target needs loopback sources, and families must match.
func checkLocalAddrs(t target, local []netip.Addr) error {
	for _, a := range local {
		if a.Is4() != t.addr.Addr().Is4() {
			return fmt.Errorf("%w: -local-addrs %s: address family differs from the target %s", ErrUsage, a, t.addr)
		}
		if t.addr.Addr().IsLoopback() && !a.IsLoopback() {
			return fmt.Errorf("%w: -local-addrs %s: the target %s is loopback, so sources must be loopback too", ErrUsage, a, t.addr)
		}
	}
	return nil
}

// sockaddr converts an address and port to the syscall form.
func sockaddr(a netip.Addr, port uint16) syscall.Sockaddr {
	if a.Is4() {
		return &syscall.SockaddrInet4{Port: int(port), Addr: a.As4()}
	}
	return &syscall.SockaddrInet6{Port: int(port), Addr: a.As16()}
}
