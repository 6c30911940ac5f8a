// Command wsgate runs the WebSocket push gateway: clients connect to -ws-addr,
// backends drive it through the REST API on -api-addr.
//
// It is a thin main: flags (with WSGATE_* environment fallbacks: WSGATE_ plus the
// flag name in upper case with dashes as underscores, e.g. WSGATE_API_TOKEN; a
// flag on the command line wins) become one gateway.Config and the process
// settings (gateway.Setup); package gateway builds and wires every component.
// It serves until SIGINT or SIGTERM, then shuts down within -shutdown-timeout:
// every client gets Close 1001, then the API stops.
package main
