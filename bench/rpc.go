//go:build linux

package bench

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/wsgate/wsgate/grpcapi/proto"
)

// rpcClient sends through the gRPC API that wsgate keeps for the backends of
// the gateway it replaces, over one HTTP/2 connection. Safe for concurrent use.
type rpcClient struct {
	cc   *grpc.ClientConn
	call func(ctx context.Context, in *pb.SendMessageToClientRequest, opts ...grpc.CallOption) (*pb.SendMessageToClientResponse, error)
	ctx  context.Context
}

// newRPCClient connects to addr (HOST:PORT); token, when set, goes with every call.
func newRPCClient(addr, token string) (*rpcClient, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("%w: -grpc %q: %v", ErrUsage, addr, err)
	}
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	return &rpcClient{cc: cc, call: pb.NewSendMessageToClientClient(cc).SendMessageToClient, ctx: ctx}, nil
}

func (r *rpcClient) close() { r.cc.Close() }

// rpcCallError is a failed call; kind is its gRPC code.
type rpcCallError struct{ err error }

func (e *rpcCallError) Error() string { return "gRPC SendMessageToClient: " + e.err.Error() }
func (e *rpcCallError) kind() string  { return "grpc_" + status.Code(e.err).String() }

// send pushes message to client id and returns how many connections took it
// (the contract's result: 1 or 0).
func (r *rpcClient) send(id string, message []byte) (int64, error) {
	ctx, cancel := context.WithTimeout(r.ctx, apiTimeout)
	defer cancel()
	resp, err := r.call(ctx, &pb.SendMessageToClientRequest{Clientid: id, Message: string(message)})
	if err != nil {
		return 0, &rpcCallError{err}
	}
	if resp.Result {
		return 1, nil
	}
	return 0, nil
}
