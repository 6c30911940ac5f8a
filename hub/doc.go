// Package hub is the gateway's control surface as the API faces see it: the
// operations a backend asks for (send, membership, presence queries), split
// by role into Sender, Membership and Presence, whichever process the clients
// are in. The REST API (and any later face, such as gRPC) drives a Hub and
// nothing else; Local implements it over this process's registry, and a
// cluster implementation spans nodes.
//
// # Contracts every implementation keeps
//
//   - Every method takes a context: an implementation that asks other
//     processes stops waiting when it is done. Local never waits for
//     anything (no client, no lock held across I/O) and ignores it.
//   - Errors are ErrNotFound (a client id that is not connected), ErrBadCursor
//     (a list cursor this hub did not issue), ErrInvalid, ErrUnavailable (the
//     node of one client did not answer) or, wrapped, something that went
//     wrong; callers branch with errors.Is.
//   - Answers that aggregate over the gateway carry a Coverage: Partial with
//     the nodes that did not answer in time, instead of failing.
//   - List cursors are opaque tokens that only the implementation that issued
//     them understands; "" starts a walk and an empty Next ends it.
//   - A message is a *wsframe.Frame encoded once and shared, never modified.
//
// It imports the registry and wsframe only, and nothing about sockets or HTTP.
package hub
