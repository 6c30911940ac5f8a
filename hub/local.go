package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// Registry is the single-process registry Local serves.
type Registry = registry.Registry[*wsframe.Frame]

// Local is the Hub of one process: every call goes straight to its registry,
// never waits, and every answer is whole. Its list cursors are the registry's.
type Local struct{ reg *Registry }

var _ Hub = (*Local)(nil)

// NewLocal returns the Hub over reg.
func NewLocal(reg *Registry) *Local { return &Local{reg: reg} }

// hubError maps the registry's errors to the hub's.
func hubError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, registry.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, registry.ErrBadCursor):
		return ErrBadCursor
	case errors.Is(err, registry.ErrEmptyName):
		return fmt.Errorf("%w: empty uid or group name", ErrInvalid)
	case errors.Is(err, registry.ErrSessionTooLarge):
		return fmt.Errorf("%w: %s", ErrTooLarge, strings.TrimPrefix(err.Error(), registry.ErrSessionTooLarge.Error()+": "))
	case errors.Is(err, registry.ErrTooManyGroups):
		return fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "registry: "))
	}
	return err
}

func (l *Local) SendAll(_ context.Context, f *wsframe.Frame, exclude []string) (Sent, error) {
	return Sent{Sent: l.reg.SendAll(f, exclude)}, nil
}

func (l *Local) SendClients(_ context.Context, ids []string, f *wsframe.Frame) (Sent, error) {
	return Sent{Sent: l.reg.SendClients(ids, f)}, nil
}

func (l *Local) SendUIDs(_ context.Context, uids []string, f *wsframe.Frame) (Sent, error) {
	return Sent{Sent: l.reg.SendUIDs(uids, f)}, nil
}

func (l *Local) SendGroups(_ context.Context, groups []string, f *wsframe.Frame, exclude []string) (Sent, error) {
	return Sent{Sent: l.reg.SendGroups(groups, f, exclude)}, nil
}

func (l *Local) BindUID(_ context.Context, id, uid string) error {
	return hubError(l.reg.BindUID(id, uid))
}

func (l *Local) UnbindUID(_ context.Context, id string) error {
	return hubError(l.reg.UnbindUID(id))
}

func (l *Local) JoinGroups(_ context.Context, id string, groups []string) error {
	return hubError(l.reg.JoinGroups(id, groups))
}

func (l *Local) LeaveGroups(_ context.Context, id string, groups []string) error {
	return hubError(l.reg.LeaveGroups(id, groups))
}

func (l *Local) DissolveGroup(_ context.Context, group string) (Count, error) {
	return Count{Count: l.reg.DissolveGroup(group)}, nil
}

func (l *Local) CloseClient(_ context.Context, id string, code uint16, reason string) error {
	if !l.reg.CloseClient(id, code, reason) {
		return ErrNotFound
	}
	return nil
}

func (l *Local) CloseUID(_ context.Context, uid string, code uint16, reason string) (Count, error) {
	return Count{Count: l.reg.CloseUID(uid, code, reason)}, nil
}

func (l *Local) ClientInfo(_ context.Context, id string) (Info, error) {
	i, ok := l.reg.Info(id)
	if !ok {
		return Info{}, ErrNotFound
	}
	if i.Groups == nil {
		i.Groups = []string{}
	}
	return Info{ClientID: i.ClientID, UID: i.UID, Groups: i.Groups, Session: i.Session, RemoteAddr: i.RemoteAddr, ConnectedAt: i.ConnectedAt}, nil
}

func (l *Local) SetSession(_ context.Context, id string, session json.RawMessage, merge bool) error {
	patch, err := CompactSession(session)
	if err != nil {
		return err
	}
	return hubError(l.reg.UpdateSession(id, func(old []byte) ([]byte, error) {
		if !merge {
			return patch, nil
		}
		return mergeSession(old, patch)
	}))
}

func (l *Local) ClientCount(context.Context) (Count, error) {
	return Count{Count: l.reg.Count()}, nil
}

func (l *Local) ClientList(_ context.Context, cursor string, limit int) (Page, error) {
	return page(l.reg.List(cursor, limit))
}

func (l *Local) UIDOnline(_ context.Context, uid string) (Online, error) {
	return Online{Online: l.reg.UIDOnline(uid)}, nil
}

func (l *Local) UIDClients(_ context.Context, uid string) (Names, error) {
	return names(l.reg.UIDClients(uid)), nil
}

func (l *Local) UIDCount(context.Context) (Count, error) {
	return Count{Count: l.reg.UIDCount()}, nil
}

func (l *Local) UIDList(_ context.Context, cursor string, limit int) (Page, error) {
	return page(l.reg.UIDList(cursor, limit))
}

func (l *Local) GroupClients(_ context.Context, group string) (Names, error) {
	return names(l.reg.GroupClients(group)), nil
}

func (l *Local) GroupUIDs(_ context.Context, group string) (Names, error) {
	return names(l.reg.GroupUIDs(group)), nil
}

func (l *Local) GroupCount(_ context.Context, group string) (Count, error) {
	return Count{Count: l.reg.GroupCount(group)}, nil
}

func (l *Local) GroupTotal(context.Context) (Count, error) {
	return Count{Count: l.reg.GroupTotal()}, nil
}

func (l *Local) GroupList(_ context.Context, cursor string, limit int) (Page, error) {
	return page(l.reg.GroupList(cursor, limit))
}

func names(list []string) Names {
	if list == nil {
		list = []string{}
	}
	return Names{Names: list}
}

func page(items []string, next string, err error) (Page, error) {
	if err != nil {
		return Page{}, hubError(err)
	}
	if items == nil {
		items = []string{}
	}
	return Page{Items: items, Next: next}, nil
}
