package httpapi

import (
	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// Hub is the API's view of the gateway: the operations it calls. Every method
// must be safe for concurrent use and must not block on a client.
// *registry.Registry[*wsframe.Frame] implements it.
type Hub interface {
	SendAll(f *wsframe.Frame, exclude []string) int
	SendClients(ids []string, f *wsframe.Frame) int
	SendUIDs(uids []string, f *wsframe.Frame) int
	SendGroups(groups []string, f *wsframe.Frame, exclude []string) int

	CloseClient(id string, code uint16, reason string) bool
	Info(id string) (registry.Info, bool)
	Count() int
	List(cursor string, limit int) (ids []string, next string, err error)

	BindUID(id, uid string) error
	UnbindUID(id string) error
	CloseUID(uid string, code uint16, reason string) int
	UIDOnline(uid string) bool
	UIDClients(uid string) []string
	UIDCount() int
	UIDList(cursor string, limit int) (uids []string, next string, err error)

	JoinGroups(id string, groups []string) error
	LeaveGroups(id string, groups []string) error
	DissolveGroup(group string) int
	GroupClients(group string) []string
	GroupUIDs(group string) []string
	GroupCount(group string) int
	GroupTotal() int
	GroupList(cursor string, limit int) (groups []string, next string, err error)
}

var _ Hub = (*registry.Registry[*wsframe.Frame])(nil)
