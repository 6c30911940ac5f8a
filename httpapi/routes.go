package httpapi

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/wsgate/wsgate/registry"
)

// routes maps each path to its endpoint. API.md documents every one of them.
var routes = map[string]route{
	"/send/all":    post(sendAll),
	"/send/client": post(sendClient),
	"/send/uid":    post(sendUID),
	"/send/group":  post(sendGroup),

	"/client/close":  post(closeClient),
	"/client/online": get(clientOnline),
	"/client/info":   get(clientInfo),
	"/client/count":  get(func(s *Server, _ *fasthttp.Args) (any, error) { return count(s.hub.Count()), nil }),
	"/client/list":   listOf("client_ids", func(s *Server) pager { return s.hub.List }),

	"/uid/bind":    post(bindUID),
	"/uid/unbind":  post(unbindUID),
	"/uid/close":   post(closeUID),
	"/uid/online":  get(uidOnline),
	"/uid/clients": get(uidClients),
	"/uid/count":   get(func(s *Server, _ *fasthttp.Args) (any, error) { return count(s.hub.UIDCount()), nil }),
	"/uid/list":    listOf("uids", func(s *Server) pager { return s.hub.UIDList }),

	"/group/join":     post(joinGroups),
	"/group/leave":    post(leaveGroups),
	"/group/dissolve": post(dissolveGroup),
	"/group/clients":  get(groupClients),
	"/group/uids":     get(groupUIDs),
	"/group/count":    get(groupCount),
	"/group/total":    get(func(s *Server, _ *fasthttp.Args) (any, error) { return count(s.hub.GroupTotal()), nil }),
	"/group/list":     listOf("groups", func(s *Server) pager { return s.hub.GroupList }),

	"/healthz": get(func(*Server, *fasthttp.Args) (any, error) { return map[string]bool{"ok": true}, nil }),
	"/stats":   get(stats),
}

// errNotFound marks answers for unknown clients (404).
var errNotFound = errors.New("not found")

// errorStatus maps handler errors to HTTP statuses, in one place.
func errorStatus(err error) int {
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, registry.ErrEmptyName), errors.Is(err, registry.ErrBadCursor):
		return fasthttp.StatusBadRequest
	case errors.Is(err, errNotFound), errors.Is(err, registry.ErrNotFound):
		return fasthttp.StatusNotFound
	}
	return fasthttp.StatusInternalServerError
}

func post(h func(*Server, *request) (any, error)) route {
	return route{fasthttp.MethodPost, func(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
		r, err := decodeRequest(ctx.PostBody())
		if err != nil {
			return nil, err
		}
		return h(s, &r)
	}}
}

func get(h func(*Server, *fasthttp.Args) (any, error)) route {
	return route{fasthttp.MethodGet, func(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
		return h(s, ctx.QueryArgs())
	}}
}

type sentAnswer struct {
	Sent int `json:"sent"`
}

type countAnswer struct {
	Count int `json:"count"`
}

type okAnswer struct {
	OK bool `json:"ok"`
}

func count(n int) countAnswer { return countAnswer{n} }

func sendAll(s *Server, r *request) (any, error) {
	f, err := r.frame()
	if err != nil {
		return nil, err
	}
	if err := checkList("exclude", r.Exclude, checkClientID); err != nil {
		return nil, err
	}
	return sentAnswer{s.hub.SendAll(f, r.Exclude)}, nil
}

func sendClient(s *Server, r *request) (any, error) {
	ids, err := oneOrMany("client_id", r.ClientID, r.ClientIDs, checkClientID)
	if err != nil {
		return nil, err
	}
	f, err := r.frame()
	if err != nil {
		return nil, err
	}
	return sentAnswer{s.hub.SendClients(ids, f)}, nil
}

func sendUID(s *Server, r *request) (any, error) {
	uids, err := oneOrMany("uid", r.UID, r.UIDs, checkName)
	if err != nil {
		return nil, err
	}
	f, err := r.frame()
	if err != nil {
		return nil, err
	}
	return sentAnswer{s.hub.SendUIDs(uids, f)}, nil
}

func sendGroup(s *Server, r *request) (any, error) {
	groups, err := oneOrMany("group", r.Group, r.Groups, checkName)
	if err != nil {
		return nil, err
	}
	if err := checkList("exclude", r.Exclude, checkClientID); err != nil {
		return nil, err
	}
	f, err := r.frame()
	if err != nil {
		return nil, err
	}
	return sentAnswer{s.hub.SendGroups(groups, f, r.Exclude)}, nil
}

func closeClient(s *Server, r *request) (any, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	code, reason, err := r.closeArgs()
	if err != nil {
		return nil, err
	}
	if !s.hub.CloseClient(r.ClientID, code, reason) {
		return nil, fmt.Errorf("%w: client %s is not connected", errNotFound, r.ClientID)
	}
	return struct {
		Closed bool `json:"closed"`
	}{true}, nil
}

func clientOnline(s *Server, q *fasthttp.Args) (any, error) {
	id := string(q.Peek("client_id"))
	if err := checkClientID("client_id", id); err != nil {
		return nil, err
	}
	_, ok := s.hub.Info(id)
	return onlineAnswer{ok}, nil
}

type onlineAnswer struct {
	Online bool `json:"online"`
}

func clientInfo(s *Server, q *fasthttp.Args) (any, error) {
	id := string(q.Peek("client_id"))
	if err := checkClientID("client_id", id); err != nil {
		return nil, err
	}
	info, ok := s.hub.Info(id)
	if !ok {
		return nil, fmt.Errorf("%w: client %s is not connected", errNotFound, id)
	}
	if info.Groups == nil {
		info.Groups = []string{}
	}
	return struct {
		ClientID    string   `json:"client_id"`
		UID         string   `json:"uid"`
		Groups      []string `json:"groups"`
		RemoteAddr  string   `json:"remote_addr"`
		ConnectedAt string   `json:"connected_at"`
	}{info.ClientID, info.UID, info.Groups, info.RemoteAddr, info.ConnectedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")}, nil
}

func bindUID(s *Server, r *request) (any, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	if err := checkName("uid", r.UID); err != nil {
		return nil, err
	}
	if err := s.hub.BindUID(r.ClientID, r.UID); err != nil {
		return nil, err
	}
	return okAnswer{true}, nil
}

func unbindUID(s *Server, r *request) (any, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	if err := s.hub.UnbindUID(r.ClientID); err != nil {
		return nil, err
	}
	return okAnswer{true}, nil
}

func closeUID(s *Server, r *request) (any, error) {
	if err := checkName("uid", r.UID); err != nil {
		return nil, err
	}
	code, reason, err := r.closeArgs()
	if err != nil {
		return nil, err
	}
	return struct {
		Closed int `json:"closed"`
	}{s.hub.CloseUID(r.UID, code, reason)}, nil
}

// nameParam reads a required uid or group name from the query.
func nameParam(q *fasthttp.Args, field string) (string, error) {
	v := string(q.Peek(field))
	return v, checkName(field, v)
}

func uidOnline(s *Server, q *fasthttp.Args) (any, error) {
	uid, err := nameParam(q, "uid")
	if err != nil {
		return nil, err
	}
	return onlineAnswer{s.hub.UIDOnline(uid)}, nil
}

type idsAnswer struct {
	ClientIDs []string `json:"client_ids"`
}

func ids(list []string) idsAnswer {
	if list == nil {
		list = []string{}
	}
	return idsAnswer{list}
}

func uidClients(s *Server, q *fasthttp.Args) (any, error) {
	uid, err := nameParam(q, "uid")
	if err != nil {
		return nil, err
	}
	return ids(s.hub.UIDClients(uid)), nil
}

func groupsArg(r *request) ([]string, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	return oneOrMany("group", r.Group, r.Groups, checkName)
}

func joinGroups(s *Server, r *request) (any, error) {
	groups, err := groupsArg(r)
	if err != nil {
		return nil, err
	}
	if err := s.hub.JoinGroups(r.ClientID, groups); err != nil {
		return nil, err
	}
	return okAnswer{true}, nil
}

func leaveGroups(s *Server, r *request) (any, error) {
	groups, err := groupsArg(r)
	if err != nil {
		return nil, err
	}
	if err := s.hub.LeaveGroups(r.ClientID, groups); err != nil {
		return nil, err
	}
	return okAnswer{true}, nil
}

func dissolveGroup(s *Server, r *request) (any, error) {
	if err := checkName("group", r.Group); err != nil {
		return nil, err
	}
	return struct {
		Removed int `json:"removed"`
	}{s.hub.DissolveGroup(r.Group)}, nil
}

func groupClients(s *Server, q *fasthttp.Args) (any, error) {
	g, err := nameParam(q, "group")
	if err != nil {
		return nil, err
	}
	return ids(s.hub.GroupClients(g)), nil
}

func groupUIDs(s *Server, q *fasthttp.Args) (any, error) {
	g, err := nameParam(q, "group")
	if err != nil {
		return nil, err
	}
	uids := s.hub.GroupUIDs(g)
	if uids == nil {
		uids = []string{}
	}
	return struct {
		UIDs []string `json:"uids"`
	}{uids}, nil
}

func groupCount(s *Server, q *fasthttp.Args) (any, error) {
	g, err := nameParam(q, "group")
	if err != nil {
		return nil, err
	}
	return count(s.hub.GroupCount(g)), nil
}

// pager is one of the Hub's paginated listings.
type pager func(cursor string, limit int) ([]string, string, error)

// listOf serves a paginated listing under the JSON key field, reading
// ?limit= (default and maximum per registry.DefaultPageSize / MaxPageSize) and ?cursor=.
func listOf(field string, list func(*Server) pager) route {
	return get(func(s *Server, q *fasthttp.Args) (any, error) {
		limit := 0
		if v := q.Peek("limit"); len(v) > 0 {
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 1 {
				return nil, badRequest("limit %q: want a positive integer (at most %d)", truncate(string(v), 32), registry.MaxPageSize)
			}
			limit = n
		}
		items, next, err := list(s)(string(q.Peek("cursor")), limit)
		if err != nil {
			return nil, err
		}
		if items == nil {
			items = []string{}
		}
		return map[string]any{field: items, "next_cursor": next}, nil
	})
}
