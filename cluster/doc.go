// Package cluster makes several wsgate nodes one gateway over NATS core
// pub/sub and request/reply (github.com/nats-io/nats.go): Hub implements
// hub.Hub for the whole cluster, so the REST and gRPC faces work unchanged on
// any node. No shared store: presence is asked of the live nodes.
//
// # Nodes
//
// Every node announces itself on <cluster>.hb each Config.Heartbeat (1 s) and
// is dropped by the others after three missed beats, or at once when it
// announces that it is leaving. Client ids are UUIDs whose first four bytes
// are the owning node's tag (a hash of its id), so an operation on one client
// goes straight to its owner (<cluster>.node.<id>) without asking anyone.
// Operations on uids, groups or everyone go to every node (<cluster>.all),
// and the answers are merged: sums, unions of distinct names, and listings
// ordered by name, so a cursor walk returns every name once however many nodes
// hold it.
//
// # Faults
//
// A cluster-wide answer waits Config.Timeout for the live nodes; a node that
// does not answer is reported in Coverage (partial, missing_nodes), never as
// an error. While NATS is unreachable the node serves its own clients (the
// local part of every operation runs first, outside NATS), its answers name
// every other node as missing, and it rejoins by itself when NATS is back
// (nothing published during the outage is replayed later). An operation on
// one client whose owner does not answer returns hub.ErrUnavailable.
//
// # Order and memory
//
// A node receives its direct and cluster-wide requests on one NATS
// connection and handles them on one goroutine in arrival order, so messages
// one node accepted for one client reach it in that order. The queue of
// received requests is bounded (Config.QueueLen); past it NATS drops
// messages for this node (a slow consumer), and they are counted.
//
// It knows nothing about sockets or HTTP: it drives this node's registry
// through hub.Local and publishes frames as opcode and payload.
package cluster
