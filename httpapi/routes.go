package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wsframe"
)

// routes maps each path to its endpoint. API.md documents every one of them.
var routes = map[string]route{
	"/send/all":    send(sendAll),
	"/send/client": send(sendClient),
	"/send/uid":    send(sendUID),
	"/send/group":  send(sendGroup),

	"/client/close":   post(closeClient, fClientID, fCode, fReason),
	"/client/online":  get(clientOnline),
	"/client/info":    get(clientInfo),
	"/client/session": post(setSession, fClientID, fSession, fMerge),
	"/client/count":   get(func(s *Server, ctx *fasthttp.RequestCtx) (any, error) { return s.hub.ClientCount(ctx) }),
	"/client/list":    listOf("client_ids", hub.Hub.ClientList),

	"/uid/bind":    post(bindUID, fClientID, fUID),
	"/uid/unbind":  post(unbindUID, fClientID),
	"/uid/close":   post(closeUID, fUID, fCode, fReason),
	"/uid/online":  get(uidOnline),
	"/uid/clients": get(namesOf("uid", "client_ids", hub.Hub.UIDClients)),
	"/uid/count":   get(func(s *Server, ctx *fasthttp.RequestCtx) (any, error) { return s.hub.UIDCount(ctx) }),
	"/uid/list":    listOf("uids", hub.Hub.UIDList),

	"/group/join":     post(joinGroups, fClientID, fGroup, fGroups),
	"/group/leave":    post(leaveGroups, fClientID, fGroup, fGroups),
	"/group/dissolve": post(dissolveGroup, fGroup),
	"/group/clients":  get(namesOf("group", "client_ids", hub.Hub.GroupClients)),
	"/group/uids":     get(namesOf("group", "uids", hub.Hub.GroupUIDs)),
	"/group/count":    get(groupCount),
	"/group/total":    get(func(s *Server, ctx *fasthttp.RequestCtx) (any, error) { return s.hub.GroupTotal(ctx) }),
	"/group/list":     listOf("groups", hub.Hub.GroupList),

	"/healthz":       get(healthz),
	"/cluster/nodes": get(clusterNodes),
	"/stats":         get(stats),
	"/metrics":       get(serveMetrics),
	"/":              dashboard,
}

// healthz answers while the node serves its clients: 200, with the cluster's
// state ("off" for a single node).
func healthz(s *Server, _ *fasthttp.RequestCtx) (any, error) {
	state, nodes := "off", 1
	if s.cfg.Cluster != nil {
		state, nodes = s.cfg.Cluster.Health()
	}
	return map[string]any{"ok": true, "cluster": state, "nodes": nodes}, nil
}

// clusterNodes lists the live nodes; a single node lists none.
func clusterNodes(s *Server, _ *fasthttp.RequestCtx) (any, error) {
	if s.cfg.Cluster == nil {
		return map[string]any{"self": "", "nodes": []any{}, "cluster": "off"}, nil
	}
	return s.cfg.Cluster.Nodes(), nil
}

// errNotFound marks answers for unknown clients (404).
var errNotFound = errors.New("not found")

// errorStatus maps handler errors to HTTP statuses, in one place.
func errorStatus(err error) int {
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, hub.ErrInvalid), errors.Is(err, hub.ErrBadCursor):
		return fasthttp.StatusBadRequest
	case errors.Is(err, errNotFound), errors.Is(err, hub.ErrNotFound):
		return fasthttp.StatusNotFound
	case errors.Is(err, hub.ErrUnavailable):
		return fasthttp.StatusServiceUnavailable
	case errors.Is(err, hub.ErrTooLarge):
		return fasthttp.StatusRequestEntityTooLarge
	}
	return fasthttp.StatusInternalServerError
}

// post is a POST route whose JSON body may hold only the given fields: any
// other field of the API's vocabulary is a 400 naming it, so a field that
// does not apply ("uid" on /send/client) is reported, never ignored.
func post(h func(*Server, *fasthttp.RequestCtx, *request) (any, error), allowed ...field) route {
	var mask fields
	for _, f := range allowed {
		mask |= 1 << f
	}
	return route{method: fasthttp.MethodPost, handle: func(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
		r, err := decodeRequest(ctx.PostBody(), mask)
		if err != nil {
			return nil, err
		}
		return h(s, ctx, &r)
	}}
}

func get(h func(*Server, *fasthttp.RequestCtx) (any, error)) route {
	return route{method: fasthttp.MethodGet, handle: h}
}

// sendTarget describes one /send/* endpoint: the field naming its targets
// (its list form is accepted too; fNone for everyone), whether it takes an
// exclude list, and the Hub call.
type sendTarget struct {
	one     field
	exclude bool
	send    func(h hub.Hub, ctx context.Context, targets []string, f *wsframe.Frame, exclude []string) (hub.Sent, error)
}

var (
	sendAll = sendTarget{fNone, true, func(h hub.Hub, ctx context.Context, _ []string, f *wsframe.Frame, exclude []string) (hub.Sent, error) {
		return h.SendAll(ctx, f, exclude)
	}}
	sendClient = sendTarget{fClientID, false, func(h hub.Hub, ctx context.Context, ids []string, f *wsframe.Frame, _ []string) (hub.Sent, error) {
		return h.SendClients(ctx, ids, f)
	}}
	sendUID = sendTarget{fUID, false, func(h hub.Hub, ctx context.Context, uids []string, f *wsframe.Frame, _ []string) (hub.Sent, error) {
		return h.SendUIDs(ctx, uids, f)
	}}
	sendGroup = sendTarget{fGroup, true, hub.Hub.SendGroups}
)

// send is the one handler of the /send/* endpoints: it validates the targets,
// the exclude list and the message, in that order, then sends.
func send(t sendTarget) route {
	allowed := []field{fData, fDataBase64}
	if t.one != fNone {
		allowed = append(allowed, t.one, t.one+1) // the list form follows the single one
	}
	if t.exclude {
		allowed = append(allowed, fExclude)
	}
	return post(func(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
		var targets []string
		if t.one != fNone {
			var err error
			if targets, err = r.targets(t.one); err != nil {
				return nil, err
			}
		}
		if err := checkList("exclude", r.Exclude, checkClientID); err != nil {
			return nil, err
		}
		f, err := r.frame()
		if err != nil {
			return nil, err
		}
		return t.send(s.hub, ctx, targets, f, r.Exclude)
	}, allowed...)
}

func closeClient(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	code, reason, err := r.closeArgs()
	if err != nil {
		return nil, err
	}
	if err := s.hub.CloseClient(ctx, r.ClientID, code, reason); err != nil {
		return nil, notConnected(err, r.ClientID)
	}
	return struct {
		Closed bool `json:"closed"`
	}{true}, nil
}

// notConnected words the hub's ErrNotFound for client id.
func notConnected(err error, id string) error {
	if errors.Is(err, hub.ErrNotFound) {
		return fmt.Errorf("%w: client %s is not connected", errNotFound, id)
	}
	return err
}

// clientParam reads a required client id from the query.
func clientParam(ctx *fasthttp.RequestCtx) (string, error) {
	id := string(ctx.QueryArgs().Peek("client_id"))
	return id, checkClientID("client_id", id)
}

func clientOnline(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
	id, err := clientParam(ctx)
	if err != nil {
		return nil, err
	}
	_, err = s.hub.ClientInfo(ctx, id)
	switch {
	case errors.Is(err, hub.ErrNotFound):
		return hub.Online{}, nil
	case err != nil:
		return nil, err
	}
	return hub.Online{Online: true}, nil
}

func clientInfo(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
	id, err := clientParam(ctx)
	if err != nil {
		return nil, err
	}
	info, err := s.hub.ClientInfo(ctx, id)
	if err != nil {
		return nil, notConnected(err, id)
	}
	session := info.Session
	if session == nil {
		session = json.RawMessage("{}")
	}
	return struct {
		ClientID    string          `json:"client_id"`
		UID         string          `json:"uid"`
		Groups      []string        `json:"groups"`
		Session     json.RawMessage `json:"session"`
		RemoteAddr  string          `json:"remote_addr"`
		ConnectedAt string          `json:"connected_at"`
	}{info.ClientID, info.UID, info.Groups, session, info.RemoteAddr, info.ConnectedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")}, nil
}

// setSession replaces (or with "merge" merges into) a client's session data.
func setSession(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	if r.Session == nil {
		return nil, badRequest("missing session: a JSON object")
	}
	if err := s.hub.SetSession(ctx, r.ClientID, r.Session, r.Merge); err != nil {
		return nil, notConnected(err, r.ClientID)
	}
	return okAnswer{true}, nil
}

type okAnswer struct {
	OK bool `json:"ok"`
}

func bindUID(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	if err := checkName("uid", r.UID); err != nil {
		return nil, err
	}
	if err := s.hub.BindUID(ctx, r.ClientID, r.UID); err != nil {
		return nil, notConnected(err, r.ClientID)
	}
	return okAnswer{true}, nil
}

func unbindUID(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	if err := checkClientID("client_id", r.ClientID); err != nil {
		return nil, err
	}
	if err := s.hub.UnbindUID(ctx, r.ClientID); err != nil {
		return nil, notConnected(err, r.ClientID)
	}
	return okAnswer{true}, nil
}

func closeUID(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	if err := checkName("uid", r.UID); err != nil {
		return nil, err
	}
	code, reason, err := r.closeArgs()
	if err != nil {
		return nil, err
	}
	n, err := s.hub.CloseUID(ctx, r.UID, code, reason)
	if err != nil {
		return nil, err
	}
	return struct {
		Closed int `json:"closed"`
		hub.Coverage
	}{n.Count, n.Coverage}, nil
}

// nameParam reads a required uid or group name from the query.
func nameParam(ctx *fasthttp.RequestCtx, field string) (string, error) {
	v := string(ctx.QueryArgs().Peek(field))
	return v, checkName(field, v)
}

func uidOnline(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
	uid, err := nameParam(ctx, "uid")
	if err != nil {
		return nil, err
	}
	return s.hub.UIDOnline(ctx, uid)
}

// namesOf serves a GET that takes one name (?uid= or ?group=) and answers a
// list of names under the JSON key key.
func namesOf(param, key string, query func(hub.Hub, context.Context, string) (hub.Names, error)) func(*Server, *fasthttp.RequestCtx) (any, error) {
	return func(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
		name, err := nameParam(ctx, param)
		if err != nil {
			return nil, err
		}
		n, err := query(s.hub, ctx, name)
		if err != nil {
			return nil, err
		}
		return withCoverage(map[string]any{key: n.Names}, n.Coverage), nil
	}
}

// withCoverage adds an answer's partial fields to m, when it is partial.
func withCoverage(m map[string]any, c hub.Coverage) map[string]any {
	if c.Partial {
		m["partial"], m["missing_nodes"] = true, c.MissingNodes
	}
	return m
}

func joinGroups(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	groups, err := r.groupsArg()
	if err != nil {
		return nil, err
	}
	if err := s.hub.JoinGroups(ctx, r.ClientID, groups); err != nil {
		return nil, notConnected(err, r.ClientID)
	}
	return okAnswer{true}, nil
}

func leaveGroups(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	groups, err := r.groupsArg()
	if err != nil {
		return nil, err
	}
	if err := s.hub.LeaveGroups(ctx, r.ClientID, groups); err != nil {
		return nil, notConnected(err, r.ClientID)
	}
	return okAnswer{true}, nil
}

func dissolveGroup(s *Server, ctx *fasthttp.RequestCtx, r *request) (any, error) {
	if err := checkName("group", r.Group); err != nil {
		return nil, err
	}
	n, err := s.hub.DissolveGroup(ctx, r.Group)
	if err != nil {
		return nil, err
	}
	return struct {
		Removed int `json:"removed"`
		hub.Coverage
	}{n.Count, n.Coverage}, nil
}

func groupCount(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
	g, err := nameParam(ctx, "group")
	if err != nil {
		return nil, err
	}
	return s.hub.GroupCount(ctx, g)
}

// listOf serves a paginated listing under the JSON key key, reading ?limit=
// (default and maximum per hub.DefaultPageSize / MaxPageSize) and the
// opaque ?cursor= of the previous page.
func listOf(key string, list func(hub.Hub, context.Context, string, int) (hub.Page, error)) route {
	return get(func(s *Server, ctx *fasthttp.RequestCtx) (any, error) {
		q := ctx.QueryArgs()
		limit := 0
		if v := q.Peek("limit"); len(v) > 0 {
			n, err := strconv.Atoi(string(v))
			if err != nil || n < 1 {
				return nil, badRequest("limit %q: want a positive integer (at most %d)", truncate(string(v), 32), hub.MaxPageSize)
			}
			limit = n
		}
		p, err := list(s.hub, ctx, string(q.Peek("cursor")), limit)
		if err != nil {
			return nil, err
		}
		return withCoverage(map[string]any{key: p.Items, "next_cursor": p.Next}, p.Coverage), nil
	})
}
