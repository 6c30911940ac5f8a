package gateway_test

import (
	"context"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/wsgate/wsgate/gateway"
	pb "github.com/wsgate/wsgate/grpcapi/proto"
	"github.com/wsgate/wsgate/poller"
)

// startGRPCGateway is a gateway serving the gRPC API on an ephemeral port,
// with a client connection to it.
func startGRPCGateway(t *testing.T, opts ...func(*gateway.Config)) (*testGateway, *grpc.ClientConn) {
	t.Helper()
	g := startGateway(t, append([]func(*gateway.Config){func(c *gateway.Config) { c.GRPC.Addr = "127.0.0.1:0" }}, opts...)...)
	cc, err := grpc.NewClient("passthrough:///"+g.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return g, cc
}

// rpcCtx bounds one call.
func rpcCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// must returns a call's answer; a failed call panics, failing the test with
// its stack (Go cannot pass t along with a call's two results).
func must[T any](v T, err error) T {
	if err != nil {
		panic("gRPC call failed: " + err.Error())
	}
	return v
}

// TestGRPCAllMethods calls the 21 methods of the replaced gateway through a
// real gRPC client built from the committed .proto, checking what each does
// to real WebSocket clients, and its quirks.
func TestGRPCAllMethods(t *testing.T) {
	g, cc := startGRPCGateway(t)
	ctx := rpcCtx(t)
	a, idA := g.dial(t)
	b, idB := g.dial(t)
	const unknown = "00000000-0000-4000-8000-000000000000"

	// Presence of clients.
	if got := must(pb.NewCountOnlineClientClient(cc).CountOnlineClient(ctx, &pb.CountOnlineClientRequest{})).Count; got != 2 {
		t.Errorf("CountOnlineClient = %d, want 2", got)
	}
	all := must(pb.NewGetAllOnlineClientClient(cc).GetAllOnlineClient(ctx, &pb.GetAllOnlineClientRequest{})).Client
	if slices.Sort(all); !slices.Equal(all, sorted(idA, idB)) {
		t.Errorf("GetAllOnlineClient = %v", all)
	}
	online := pb.NewClientIsOnlineClient(cc)
	if !must(online.ClientIsOnline(ctx, &pb.ClientIsOnlineRequest{Clientid: idA})).Isonline ||
		must(online.ClientIsOnline(ctx, &pb.ClientIsOnlineRequest{Clientid: unknown})).Isonline ||
		must(online.ClientIsOnline(ctx, &pb.ClientIsOnlineRequest{})).Isonline {
		t.Error("ClientIsOnline: want true for a, false for unknown and empty")
	}

	// Sends: text frames; result false (not an error) for empty or unknown arguments.
	if !must(pb.NewBroadcastMessageClient(cc).BroadcastMessage(ctx, &pb.BroadcastMessageRequest{Message: "all"})).Result {
		t.Error("BroadcastMessage: result false")
	}
	expectText(t, "all", a, b)
	if must(pb.NewBroadcastMessageClient(cc).BroadcastMessage(ctx, &pb.BroadcastMessageRequest{})).Result {
		t.Error("BroadcastMessage with an empty message: result true")
	}
	toClient := pb.NewSendMessageToClientClient(cc)
	if !must(toClient.SendMessageToClient(ctx, &pb.SendMessageToClientRequest{Clientid: idA, Message: "to a"})).Result {
		t.Error("SendMessageToClient: result false")
	}
	expectText(t, "to a", a)
	for _, r := range []*pb.SendMessageToClientRequest{{Clientid: unknown, Message: "x"}, {Clientid: idA}, {Message: "x"}, {Clientid: "nope", Message: "x"}} {
		if must(toClient.SendMessageToClient(ctx, r)).Result {
			t.Errorf("SendMessageToClient(%v): result true", r)
		}
	}

	// uids, with the swapped names.
	bind := pb.NewClientBindUidClient(cc)
	if !must(bind.ClientBindUid(ctx, &pb.ClientBindUidRequest{Clientid: idA, Uid: "alice"})).Result ||
		!must(bind.ClientBindUid(ctx, &pb.ClientBindUidRequest{Clientid: idB, Uid: "alice"})).Result {
		t.Fatal("ClientBindUid: result false")
	}
	if must(bind.ClientBindUid(ctx, &pb.ClientBindUidRequest{Clientid: unknown, Uid: "x"})).Result ||
		must(bind.ClientBindUid(ctx, &pb.ClientBindUidRequest{Clientid: idA})).Result {
		t.Error("ClientBindUid of an unknown client or without a uid: result true")
	}
	if got := must(pb.NewGetClientByUidClient(cc).GetClientByUid(ctx, &pb.GetClientByUidRequest{Clientid: idA})).Uid; got != "alice" {
		t.Errorf("GetClientByUid(client a) = %q, want its uid alice", got)
	}
	byUID := must(pb.NewGetUidByClientClient(cc).GetUidByClient(ctx, &pb.GetUidByClientRequest{Uid: "alice"})).Clientid
	if slices.Sort(byUID); !slices.Equal(byUID, sorted(idA, idB)) {
		t.Errorf("GetUidByClient(alice) = %v, want both client ids", byUID)
	}
	if !must(pb.NewUidIsOnlineClient(cc).UidIsOnline(ctx, &pb.UidIsOnlineRequest{Uid: "alice"})).Result {
		t.Error("UidIsOnline(alice) false")
	}
	if got := must(pb.NewCountOnlineUidClient(cc).CountOnlineUid(ctx, &pb.CountOnlineUidRequest{})).Count; got != 1 {
		t.Errorf("CountOnlineUid = %d", got)
	}
	if got := must(pb.NewGetAllOnlineUidClient(cc).GetAllOnlineUid(ctx, &pb.GetAllOnlineUidRequest{})).Uid; !slices.Equal(got, []string{"alice"}) {
		t.Errorf("GetAllOnlineUid = %v", got)
	}
	if !must(pb.NewSendMessageToUidClient(cc).SendMessageToUid(ctx, &pb.SendMessageToUidRequest{Uid: "alice", Message: "to alice"})).Result {
		t.Error("SendMessageToUid: result false")
	}
	expectText(t, "to alice", a, b)
	if !must(pb.NewUnBindUidClient(cc).UnBindUid(ctx, &pb.UnBindUidRequest{Clientid: idB})).Result {
		t.Error("UnBindUid: result false")
	}

	// Groups.
	join := pb.NewJoinGroupClient(cc)
	for _, id := range []string{idA, idB} {
		if !must(join.JoinGroup(ctx, &pb.JoinGroupRequest{Clientid: id, Group: "room"})).Result {
			t.Fatal("JoinGroup: result false")
		}
	}
	if must(join.JoinGroup(ctx, &pb.JoinGroupRequest{Clientid: idA})).Result {
		t.Error("JoinGroup without a group: result true")
	}
	if got := must(pb.NewCountOnlineGroupClient(cc).CountOnlineGroup(ctx, &pb.CountOnlineGroupRequest{Group: "room"})).Count; got != 2 {
		t.Errorf("CountOnlineGroup = %d", got)
	}
	if got := must(pb.NewCountGroupClient(cc).CountGroup(ctx, &pb.CountGroupRequest{})).Count; got != 1 {
		t.Errorf("CountGroup = %d", got)
	}
	members := must(pb.NewGetGroupOnlineClientClient(cc).GetGroupOnlineClient(ctx, &pb.GetGroupOnlineClientRequest{Group: "room"})).Clientid
	if slices.Sort(members); !slices.Equal(members, sorted(idA, idB)) {
		t.Errorf("GetGroupOnlineClient = %v", members)
	}
	sent := must(pb.NewSendMessageToGroupClient(cc).SendMessageToGroup(ctx, &pb.SendMessageToGroupRequest{Group: "room", Message: "to room"}))
	if !sent.Result || sent.Arrive != 2 {
		t.Errorf("SendMessageToGroup = %v, want result and arrive 2", sent)
	}
	expectText(t, "to room", a, b)
	if !must(pb.NewLeaveGroupClient(cc).LeaveGroup(ctx, &pb.LeaveGroupRequest{Clientid: idB, Group: "room"})).Result {
		t.Error("LeaveGroup: result false")
	}
	if !must(pb.NewUnGroupClient(cc).UnGroup(ctx, &pb.UnGroupRequest{Group: "room"})).Result {
		t.Error("UnGroup: result false")
	}
	if got := must(pb.NewCountGroupClient(cc).CountGroup(ctx, &pb.CountGroupRequest{})).Count; got != 0 {
		t.Errorf("CountGroup after UnGroup = %d", got)
	}

	// Closing (the replaced gateway's spelling).
	if !must(pb.NewClonseClientClient(cc).ClonseClient(ctx, &pb.ClonseClientRequest{Clientid: idA})).Result {
		t.Error("ClonseClient: result false")
	}
	g.expectClose(t, a, idA, 1000, poller.ReasonServerClose)
	if must(pb.NewClonseClientClient(cc).ClonseClient(ctx, &pb.ClonseClientRequest{Clientid: idA})).Result {
		t.Error("ClonseClient of a closed client: result true")
	}
}

// TestGRPCBinaryMessages: with BinaryMessages, pushes are binary frames.
func TestGRPCBinaryMessages(t *testing.T) {
	g, cc := startGRPCGateway(t, func(c *gateway.Config) { c.GRPC.BinaryMessages = true })
	c, id := g.dial(t)
	must(pb.NewSendMessageToClientClient(cc).SendMessageToClient(rpcCtx(t), &pb.SendMessageToClientRequest{Clientid: id, Message: "bin"}))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if op, p, err := c.ReadMessage(); err != nil || op != websocket.BinaryMessage || string(p) != "bin" {
		t.Fatalf("got op %d %q %v, want a binary frame", op, p, err)
	}
}

// TestGRPCAccessControl: the allow-list refuses other peers (reflection
// included), and with a token every call needs it.
func TestGRPCAccessControl(t *testing.T) {
	_, cc := startGRPCGateway(t, func(c *gateway.Config) { c.GRPC.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	_, err := pb.NewCountGroupClient(cc).CountGroup(rpcCtx(t), &pb.CountGroupRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("call from outside the allow-list: %v, want PermissionDenied", err)
	}
	if _, err := listServices(t, cc); status.Code(err) != codes.PermissionDenied {
		t.Errorf("reflection from outside the allow-list: %v, want PermissionDenied", err)
	}

	_, cc = startGRPCGateway(t, func(c *gateway.Config) { c.GRPC.Token = "s3cret" })
	if _, err := pb.NewCountGroupClient(cc).CountGroup(rpcCtx(t), &pb.CountGroupRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("call without the token: %v, want Unauthenticated", err)
	}
	ctx := metadata.AppendToOutgoingContext(rpcCtx(t), "authorization", "bearer s3cret")
	if _, err := pb.NewCountGroupClient(cc).CountGroup(ctx, &pb.CountGroupRequest{}); err != nil {
		t.Errorf("call with the token: %v", err)
	}
}

// TestGRPCReflection lists the services the way grpcurl does, without the
// .proto file: all 21, under their full names.
func TestGRPCReflection(t *testing.T) {
	_, cc := startGRPCGateway(t)
	names, err := listServices(t, cc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proto.BroadcastMessage", "proto.ClonseClient", "proto.GetClientByUid", "proto.SendMessageToGroup", "proto.GetGroupOnlineClient"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(names), func(s string) bool {
		return s == "grpc.reflection.v1.ServerReflection" || s == "grpc.reflection.v1alpha.ServerReflection"
	})); n != 21 {
		t.Errorf("%d services besides reflection, want 21: %v", n, names)
	}
}

// listServices asks the server's reflection service for its services.
func listServices(t *testing.T, cc *grpc.ClientConn) ([]string, error) {
	stream, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(rpcCtx(t))
	if err != nil {
		return nil, err
	}
	// A stream the server already ended makes Send return io.EOF; the
	// status is Recv's then (grpc.ClientStream's contract).
	if err := stream.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil && err != io.EOF {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

// expectText checks that every client reads text next.
func expectText(t *testing.T, want string, cs ...*websocket.Conn) {
	t.Helper()
	for _, c := range cs {
		if got := readText(t, c); got != want {
			t.Fatalf("client read %q, want %q", got, want)
		}
	}
}
