// Package grpcapi serves the gRPC control API of the gateway wsgate
// replaces, so that its backends (PHP with the grpc extension, Go, Java) move
// over unchanged: the 21 services of package proto (one unary rpc each, full
// method name /proto.<Name>/<Name>), with that gateway's answers and quirks
// (result:false rather than an error for an empty or unknown argument, int32
// counts, the swapped names GetClientByUid/GetUidByClient, "arrive" on group
// sends). docs/migrating.md maps every call to its REST endpoint.
//
// It is another face of the same hub.Hub as the REST API, not a second copy
// of the operations: each rpc validates with the hub's rules and makes one hub
// call (a listing walks the hub's pages). Messages are pushed as text frames,
// or binary with Config.BinaryMessages.
//
// Access control, on every rpc and on server reflection: the peer's address
// must be in Config.Allow (default loopback only), as the replaced gateway's
// IP allow-list, and when Config.Token is set the call must carry
// "authorization: Bearer <token>" metadata. Reflection is on, so grpcurl works
// without the .proto file.
//
// Library: google.golang.org/grpc, the reference Go implementation kept by
// the gRPC project: the protocol the replaced gateway's backends speak
// (their grpc extension and stubs) with no translation layer, interceptors for
// the access rules, and the reflection service grpcurl uses, all maintained in
// one place. (connectrpc.com/connect, which serves gRPC over net/http, was
// not measured here; grpc-go's own HTTP/2 server is its performance baseline.)
//
// Concurrency: grpc-go serves each call on its own goroutine; the Server
// shares nothing but the hub, which is safe for concurrent use.
package grpcapi
