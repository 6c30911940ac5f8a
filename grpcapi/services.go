package grpcapi

import (
	"context"
	"errors"
	"math"

	"github.com/gobwas/ws"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/wsgate/wsgate/grpcapi/proto"
	"github.com/wsgate/wsgate/hub"
	"github.com/wsgate/wsgate/wsframe"
)

// services implements the 21 services over the hub, with the replaced
// gateway's answers: an empty, malformed or unknown argument is result:false
// (or an empty list, 0), not an error; only a hub that cannot answer (a
// cluster that is down) gives a gRPC error, Unavailable.
type services struct {
	hub    hub.Hub
	binary bool

	pb.UnimplementedBroadcastMessageServer
	pb.UnimplementedSendMessageToClientServer
	pb.UnimplementedClonseClientServer
	pb.UnimplementedGetAllOnlineClientServer
	pb.UnimplementedClientIsOnlineServer
	pb.UnimplementedCountOnlineClientServer
	pb.UnimplementedSendMessageToUidServer
	pb.UnimplementedClientBindUidServer
	pb.UnimplementedUnBindUidServer
	pb.UnimplementedUidIsOnlineServer
	pb.UnimplementedCountOnlineUidServer
	pb.UnimplementedGetAllOnlineUidServer
	pb.UnimplementedGetClientByUidServer
	pb.UnimplementedGetUidByClientServer
	pb.UnimplementedJoinGroupServer
	pb.UnimplementedLeaveGroupServer
	pb.UnimplementedUnGroupServer
	pb.UnimplementedSendMessageToGroupServer
	pb.UnimplementedCountOnlineGroupServer
	pb.UnimplementedCountGroupServer
	pb.UnimplementedGetGroupOnlineClientServer
}

func (o *services) register(s *grpc.Server) {
	pb.RegisterBroadcastMessageServer(s, o)
	pb.RegisterSendMessageToClientServer(s, o)
	pb.RegisterClonseClientServer(s, o)
	pb.RegisterGetAllOnlineClientServer(s, o)
	pb.RegisterClientIsOnlineServer(s, o)
	pb.RegisterCountOnlineClientServer(s, o)
	pb.RegisterSendMessageToUidServer(s, o)
	pb.RegisterClientBindUidServer(s, o)
	pb.RegisterUnBindUidServer(s, o)
	pb.RegisterUidIsOnlineServer(s, o)
	pb.RegisterCountOnlineUidServer(s, o)
	pb.RegisterGetAllOnlineUidServer(s, o)
	pb.RegisterGetClientByUidServer(s, o)
	pb.RegisterGetUidByClientServer(s, o)
	pb.RegisterJoinGroupServer(s, o)
	pb.RegisterLeaveGroupServer(s, o)
	pb.RegisterUnGroupServer(s, o)
	pb.RegisterSendMessageToGroupServer(s, o)
	pb.RegisterCountOnlineGroupServer(s, o)
	pb.RegisterCountGroupServer(s, o)
	pb.RegisterGetGroupOnlineClientServer(s, o)
}

// frame encodes a pushed message once, text unless binary messages are on.
func (o *services) frame(message string) *wsframe.Frame {
	if o.binary {
		return wsframe.NewFrame(ws.OpBinary, []byte(message))
	}
	return wsframe.NewFrame(ws.OpText, []byte(message))
}

// outcome turns a hub error into the replaced gateway's answer: a false
// result for what the caller got wrong, Unavailable for what the gateway
// could not do.
func outcome(err error) (bool, error) {
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, hub.ErrNotFound), errors.Is(err, hub.ErrInvalid):
		return false, nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false, status.FromContextError(err).Err() // the caller gave up
	}
	return false, status.Error(codes.Unavailable, err.Error())
}

// int32Of saturates a count into the int32 the contract has.
func int32Of(n int) int32 { return int32(min(n, math.MaxInt32)) }

// validName reports whether name is a usable uid or group name.
func validName(name string) bool { return hub.CheckName(name) == nil }

// all walks a hub listing to its end.
func all(ctx context.Context, list func(context.Context, string, int) (hub.Page, error)) ([]string, error) {
	var out []string
	cursor := ""
	for {
		p, err := list(ctx, cursor, hub.MaxPageSize)
		if err != nil {
			_, err = outcome(err)
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		cursor = p.Next
	}
}

func (o *services) BroadcastMessage(ctx context.Context, r *pb.BroadcastMessageRequest) (*pb.BroadcastMessageResponse, error) {
	if r.Message == "" {
		return &pb.BroadcastMessageResponse{}, nil
	}
	_, err := o.hub.SendAll(ctx, o.frame(r.Message), nil)
	ok, err := outcome(err)
	return &pb.BroadcastMessageResponse{Result: ok}, err
}

func (o *services) SendMessageToClient(ctx context.Context, r *pb.SendMessageToClientRequest) (*pb.SendMessageToClientResponse, error) {
	if !hub.IsClientID(r.Clientid) || r.Message == "" {
		return &pb.SendMessageToClientResponse{}, nil
	}
	n, err := o.hub.SendClients(ctx, []string{r.Clientid}, o.frame(r.Message))
	ok, err := outcome(err)
	return &pb.SendMessageToClientResponse{Result: ok && n.Sent > 0}, err
}

func (o *services) ClonseClient(ctx context.Context, r *pb.ClonseClientRequest) (*pb.ClonseClientResponse, error) {
	if !hub.IsClientID(r.Clientid) {
		return &pb.ClonseClientResponse{}, nil
	}
	ok, err := outcome(o.hub.CloseClient(ctx, r.Clientid, 1000, ""))
	return &pb.ClonseClientResponse{Result: ok}, err
}

func (o *services) GetAllOnlineClient(ctx context.Context, _ *pb.GetAllOnlineClientRequest) (*pb.GetAllOnlineClientResponse, error) {
	ids, err := all(ctx, o.hub.ClientList)
	return &pb.GetAllOnlineClientResponse{Client: ids}, err
}

func (o *services) ClientIsOnline(ctx context.Context, r *pb.ClientIsOnlineRequest) (*pb.ClientIsOnlineResponse, error) {
	if !hub.IsClientID(r.Clientid) {
		return &pb.ClientIsOnlineResponse{}, nil
	}
	_, err := o.hub.ClientInfo(ctx, r.Clientid)
	ok, err := outcome(err)
	return &pb.ClientIsOnlineResponse{Isonline: ok}, err
}

func (o *services) CountOnlineClient(ctx context.Context, _ *pb.CountOnlineClientRequest) (*pb.CountOnlineClientResponse, error) {
	n, err := o.hub.ClientCount(ctx)
	_, err = outcome(err)
	return &pb.CountOnlineClientResponse{Count: int32Of(n.Count)}, err
}

func (o *services) SendMessageToUid(ctx context.Context, r *pb.SendMessageToUidRequest) (*pb.SendMessageToUidResponse, error) {
	if !validName(r.Uid) || r.Message == "" {
		return &pb.SendMessageToUidResponse{}, nil
	}
	n, err := o.hub.SendUIDs(ctx, []string{r.Uid}, o.frame(r.Message))
	ok, err := outcome(err)
	return &pb.SendMessageToUidResponse{Result: ok && n.Sent > 0}, err
}

func (o *services) ClientBindUid(ctx context.Context, r *pb.ClientBindUidRequest) (*pb.ClientBindUidResponse, error) {
	if !hub.IsClientID(r.Clientid) || !validName(r.Uid) {
		return &pb.ClientBindUidResponse{}, nil
	}
	ok, err := outcome(o.hub.BindUID(ctx, r.Clientid, r.Uid))
	return &pb.ClientBindUidResponse{Result: ok}, err
}

func (o *services) UnBindUid(ctx context.Context, r *pb.UnBindUidRequest) (*pb.UnBindUidResponse, error) {
	if !hub.IsClientID(r.Clientid) {
		return &pb.UnBindUidResponse{}, nil
	}
	ok, err := outcome(o.hub.UnbindUID(ctx, r.Clientid))
	return &pb.UnBindUidResponse{Result: ok}, err
}

func (o *services) UidIsOnline(ctx context.Context, r *pb.UidIsOnlineRequest) (*pb.UidIsOnlineResponse, error) {
	if !validName(r.Uid) {
		return &pb.UidIsOnlineResponse{}, nil
	}
	on, err := o.hub.UIDOnline(ctx, r.Uid)
	_, err = outcome(err)
	return &pb.UidIsOnlineResponse{Result: on.Online}, err
}

func (o *services) CountOnlineUid(ctx context.Context, _ *pb.CountOnlineUidRequest) (*pb.CountOnlineUidResponse, error) {
	n, err := o.hub.UIDCount(ctx)
	_, err = outcome(err)
	return &pb.CountOnlineUidResponse{Count: int32Of(n.Count)}, err
}

func (o *services) GetAllOnlineUid(ctx context.Context, _ *pb.GetAllOnlineUidRequest) (*pb.GetAllOnlineUidResponse, error) {
	uids, err := all(ctx, o.hub.UIDList)
	return &pb.GetAllOnlineUidResponse{Uid: uids}, err
}

// GetClientByUid takes a client id and answers its uid (the replaced
// gateway's name for it says the opposite).
func (o *services) GetClientByUid(ctx context.Context, r *pb.GetClientByUidRequest) (*pb.GetClientByUidResponse, error) {
	if !hub.IsClientID(r.Clientid) {
		return &pb.GetClientByUidResponse{}, nil
	}
	info, err := o.hub.ClientInfo(ctx, r.Clientid)
	_, err = outcome(err)
	return &pb.GetClientByUidResponse{Uid: info.UID}, err
}

// GetUidByClient takes a uid and answers its client ids (named the other way
// round, as in the replaced gateway).
func (o *services) GetUidByClient(ctx context.Context, r *pb.GetUidByClientRequest) (*pb.GetUidByClientResponse, error) {
	if !validName(r.Uid) {
		return &pb.GetUidByClientResponse{}, nil
	}
	ids, err := o.hub.UIDClients(ctx, r.Uid)
	_, err = outcome(err)
	return &pb.GetUidByClientResponse{Clientid: ids.Names}, err
}

func (o *services) JoinGroup(ctx context.Context, r *pb.JoinGroupRequest) (*pb.JoinGroupResponse, error) {
	if !hub.IsClientID(r.Clientid) || !validName(r.Group) {
		return &pb.JoinGroupResponse{}, nil
	}
	ok, err := outcome(o.hub.JoinGroups(ctx, r.Clientid, []string{r.Group}))
	return &pb.JoinGroupResponse{Result: ok}, err
}

func (o *services) LeaveGroup(ctx context.Context, r *pb.LeaveGroupRequest) (*pb.LeaveGroupResponse, error) {
	if !hub.IsClientID(r.Clientid) || !validName(r.Group) {
		return &pb.LeaveGroupResponse{}, nil
	}
	ok, err := outcome(o.hub.LeaveGroups(ctx, r.Clientid, []string{r.Group}))
	return &pb.LeaveGroupResponse{Result: ok}, err
}

func (o *services) UnGroup(ctx context.Context, r *pb.UnGroupRequest) (*pb.UnGroupResponse, error) {
	if !validName(r.Group) {
		return &pb.UnGroupResponse{}, nil
	}
	_, err := o.hub.DissolveGroup(ctx, r.Group)
	ok, err := outcome(err)
	return &pb.UnGroupResponse{Result: ok}, err
}

func (o *services) SendMessageToGroup(ctx context.Context, r *pb.SendMessageToGroupRequest) (*pb.SendMessageToGroupResponse, error) {
	if !validName(r.Group) || r.Message == "" {
		return &pb.SendMessageToGroupResponse{}, nil
	}
	n, err := o.hub.SendGroups(ctx, []string{r.Group}, o.frame(r.Message), nil)
	ok, err := outcome(err)
	return &pb.SendMessageToGroupResponse{Result: ok, Arrive: int32Of(n.Sent)}, err
}

func (o *services) CountOnlineGroup(ctx context.Context, r *pb.CountOnlineGroupRequest) (*pb.CountOnlineGroupResponse, error) {
	if !validName(r.Group) {
		return &pb.CountOnlineGroupResponse{}, nil
	}
	n, err := o.hub.GroupCount(ctx, r.Group)
	_, err = outcome(err)
	return &pb.CountOnlineGroupResponse{Count: int32Of(n.Count)}, err
}

func (o *services) CountGroup(ctx context.Context, _ *pb.CountGroupRequest) (*pb.CountGroupResponse, error) {
	n, err := o.hub.GroupTotal(ctx)
	_, err = outcome(err)
	return &pb.CountGroupResponse{Count: int32Of(n.Count)}, err
}

func (o *services) GetGroupOnlineClient(ctx context.Context, r *pb.GetGroupOnlineClientRequest) (*pb.GetGroupOnlineClientResponse, error) {
	if !validName(r.Group) {
		return &pb.GetGroupOnlineClientResponse{}, nil
	}
	ids, err := o.hub.GroupClients(ctx, r.Group)
	_, err = outcome(err)
	return &pb.GetGroupOnlineClientResponse{Clientid: ids.Names}, err
}
