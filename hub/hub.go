package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/wsgate/wsgate/registry"
	"github.com/wsgate/wsgate/wsframe"
)

// Errors callers branch on with errors.Is.
var (
	ErrNotFound  = errors.New("hub: client not connected")
	ErrBadCursor = errors.New("hub: bad cursor")
	ErrInvalid   = errors.New("hub: invalid argument")
	// ErrUnavailable reports an operation on one client whose node did not
	// answer (cluster mode); nothing is known to have changed.
	ErrUnavailable = errors.New("hub: the client's node is unavailable")
	// ErrTooLarge reports session data past the registry's limit; nothing changed.
	ErrTooLarge = errors.New("hub: session data too large")
)

// Page sizes of the listings: limit <= 0 means DefaultPageSize, larger
// limits than MaxPageSize are clamped.
const (
	DefaultPageSize = registry.DefaultPageSize
	MaxPageSize     = registry.MaxPageSize
)

// Coverage says whether an aggregated answer covers the whole gateway. The
// zero value is a whole answer.
type Coverage struct {
	Partial      bool     `json:"partial,omitempty"`       // some nodes did not answer in time
	MissingNodes []string `json:"missing_nodes,omitempty"` // their ids, sorted
}

// Sent is how many connections accepted a message.
type Sent struct {
	Sent int `json:"sent"`
	Coverage
}

// Count is a number of clients, uids or groups.
type Count struct {
	Count int `json:"count"`
	Coverage
}

// Online says whether a uid has at least one connection.
type Online struct {
	Online bool `json:"online"`
	Coverage
}

// Names is a sorted list of client ids or uids, never nil.
type Names struct {
	Names []string
	Coverage
}

// Page is one page of a listing: Items, and the cursor of the next page ("" after the last).
type Page struct {
	Items []string
	Next  string
	Coverage
}

// Info describes one connected client. It is a copy owned by the caller.
type Info struct {
	ClientID    string
	UID         string          // "" when unbound
	Groups      []string        // sorted, never nil
	Session     json.RawMessage // a JSON object, nil when none; shared: never modify it
	RemoteAddr  string
	ConnectedAt time.Time
}

// Sender pushes a message to selected connections. Each returns once every
// selected connection has it queued (or refused it): two calls made one after
// the other reach any one connection in that order.
type Sender interface {
	SendAll(ctx context.Context, f *wsframe.Frame, exclude []string) (Sent, error)
	SendClients(ctx context.Context, ids []string, f *wsframe.Frame) (Sent, error)
	SendUIDs(ctx context.Context, uids []string, f *wsframe.Frame) (Sent, error)
	SendGroups(ctx context.Context, groups []string, f *wsframe.Frame, exclude []string) (Sent, error)
}

// Membership changes who is who: uid bindings, groups, and closes.
type Membership interface {
	BindUID(ctx context.Context, id, uid string) error
	UnbindUID(ctx context.Context, id string) error
	JoinGroups(ctx context.Context, id string, groups []string) error
	LeaveGroups(ctx context.Context, id string, groups []string) error
	DissolveGroup(ctx context.Context, group string) (Count, error)
	CloseClient(ctx context.Context, id string, code uint16, reason string) error
	CloseUID(ctx context.Context, uid string, code uint16, reason string) (Count, error)
	// SetSession replaces client id's session data with session (a JSON
	// object; "{}" clears it), or with merge merges it in: its top-level
	// keys replace the client's, and a key set to null is removed (RFC 7396
	// at the top level). ErrInvalid when session is not a JSON object,
	// ErrTooLarge when the result is over the limit; either way nothing
	// changes.
	SetSession(ctx context.Context, id string, session json.RawMessage, merge bool) error
}

// Presence answers who is online.
type Presence interface {
	ClientInfo(ctx context.Context, id string) (Info, error)
	ClientCount(ctx context.Context) (Count, error)
	ClientList(ctx context.Context, cursor string, limit int) (Page, error)
	UIDOnline(ctx context.Context, uid string) (Online, error)
	UIDClients(ctx context.Context, uid string) (Names, error)
	UIDCount(ctx context.Context) (Count, error)
	UIDList(ctx context.Context, cursor string, limit int) (Page, error)
	GroupClients(ctx context.Context, group string) (Names, error)
	GroupUIDs(ctx context.Context, group string) (Names, error)
	GroupCount(ctx context.Context, group string) (Count, error)
	GroupTotal(ctx context.Context) (Count, error)
	GroupList(ctx context.Context, cursor string, limit int) (Page, error)
}

// Hub is all three roles: what an API face drives.
type Hub interface {
	Sender
	Membership
	Presence
}

// Limits every API face applies to what callers name.
const (
	MaxNameBytes = 256   // a uid or group name
	MaxListItems = 10000 // ids, uids or groups in one call
)

// IsClientID reports whether id has the form of the ids the gateway issues:
// a canonical 36-character UUID.
func IsClientID(id string) bool {
	return len(id) == 36 && uuid.Validate(id) == nil
}

// CheckName checks a uid or group name: 1 to MaxNameBytes bytes of UTF-8.
// Its errors wrap ErrInvalid and read after the name of the field ("is 300
// bytes, the limit is 256").
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: is empty", ErrInvalid)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("%w: is %d bytes, the limit is %d", ErrInvalid, len(name), MaxNameBytes)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: is not valid UTF-8", ErrInvalid)
	}
	return nil
}
