package main

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wsgate/wsgate/examples/webhooks/verify"
	wsgatejs "github.com/wsgate/wsgate/js"
)

// config is the chat backend's settings; zero values mean the defaults.
type config struct {
	WSGateAPI     string       // wsgate's REST API, e.g. http://127.0.0.1:8283
	WSGateWS      string       // the WebSocket URL pages connect to, e.g. ws://127.0.0.1:8282/
	APIToken      string       // wsgate's -api-token, "" when none
	WebhookSecret string       // wsgate's -webhook-secret (whsec_...; comma-separated during a rotation); required
	Logger        *slog.Logger // nil = slog.Default()
}

//go:embed static
var static embed.FS

// server is the chat backend: an http.Handler for the page, its calls and
// wsgate's webhook.
type server struct {
	cfg      config
	log      *slog.Logger
	api      *wsgateAPI
	verifier *verify.Verifier
	seen     *verify.Seen // webhook event ids handled
	rooms    *rooms
	mux      *http.ServeMux
}

func newServer(cfg config) (*server, error) {
	if cfg.WSGateAPI == "" || cfg.WSGateWS == "" {
		return nil, errors.New("the wsgate API and WebSocket URLs are required")
	}
	if strings.TrimSpace(cfg.WebhookSecret) == "" {
		return nil, errors.New("a webhook secret is required (-webhook-secret or $WEBHOOK_SECRET): wsgate's -webhook-secret")
	}
	v, err := verify.New(cfg.WebhookSecret)
	if err != nil {
		return nil, fmt.Errorf("-webhook-secret: %w", err)
	}
	s := &server{
		cfg:      cfg,
		log:      cmp.Or(cfg.Logger, slog.Default()),
		api:      newWSGateAPI(strings.TrimSuffix(cfg.WSGateAPI, "/"), cfg.APIToken),
		verifier: v,
		seen:     verify.NewSeen(10000),
		rooms:    newRooms(),
		mux:      http.NewServeMux(),
	}
	s.mux.Handle("GET /", http.FileServerFS(mustSub(static, "static")))
	s.mux.Handle("GET /js/", http.StripPrefix("/js", wsgatejs.Handler()))
	s.mux.HandleFunc("GET /config", s.handleConfig)
	s.mux.HandleFunc("POST /join", s.handleJoin)
	s.mux.HandleFunc("POST /say", s.handleSay)
	s.mux.HandleFunc("POST /wsgate/events", s.handleEvents)
	return s, nil
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// handleConfig tells the page where wsgate is.
func (s *server) handleConfig(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"wsURL": s.cfg.WSGateWS})
}

var roomName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// handleJoin puts a page's connection in a room: {client_id, name, room}.
// The name becomes the connection's uid, the room its group. A page calls it
// again with its new id after every reconnect.
func (s *server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID string `json:"client_id"`
		Name     string `json:"name"`
		Room     string `json:"room"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.ClientID == "":
		writeError(w, http.StatusBadRequest, "client_id is required")
		return
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 32:
		writeError(w, http.StatusBadRequest, "name must be 1 to 32 characters")
		return
	case !roomName.MatchString(in.Room):
		writeError(w, http.StatusBadRequest, "room must be 1 to 32 of a-z, 0-9 and -")
		return
	}
	ctx := r.Context()
	// In the table before wsgate joins it: a disconnected event that comes
	// in the meantime finds it.
	s.rooms.add(in.ClientID, member{name: in.Name, room: in.Room})
	present, err := s.api.groupUIDs(ctx, in.Room)
	if err == nil {
		err = s.api.bindUID(ctx, in.ClientID, in.Name)
	}
	if err == nil {
		err = s.api.joinGroup(ctx, in.ClientID, in.Room)
	}
	if err != nil {
		s.rooms.remove(in.ClientID)
		s.fail(w, "join", err)
		return
	}
	event := "join"
	if slices.Contains(present, in.Name) {
		event = "rejoin" // another tab, or a reconnect: no announcement
	}
	members, err := s.announce(ctx, in.Room, event, in.Name)
	if err != nil {
		s.fail(w, "join", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": members})
}

// handleSay relays a line to the room of the page's connection:
// {client_id, text}. The name and room are the ones it joined with.
func (s *server) handleSay(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID string `json:"client_id"`
		Text     string `json:"text"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	in.Text = strings.TrimSpace(in.Text)
	if in.Text == "" || utf8.RuneCountInString(in.Text) > 500 {
		writeError(w, http.StatusBadRequest, "text must be 1 to 500 characters")
		return
	}
	m, ok := s.rooms.get(in.ClientID)
	if !ok {
		writeError(w, http.StatusNotFound, "join a room first")
		return
	}
	err := s.api.sendGroup(r.Context(), m.room, map[string]string{"type": "chat", "from": m.name, "text": in.Text})
	if err != nil {
		s.fail(w, "say", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// announce tells room that name joined or left (event "join"/"leave"; any
// other event only answers the members), with who is online now, and
// returns that list.
func (s *server) announce(ctx context.Context, room, event, name string) ([]string, error) {
	members, err := s.api.groupUIDs(ctx, room)
	if err != nil {
		return nil, err
	}
	if members == nil {
		members = []string{}
	}
	if event == "join" || event == "leave" {
		err = s.api.sendGroup(ctx, room, map[string]any{"type": event, "name": name, "members": members})
	}
	return members, err
}

// fail answers a failed call to wsgate: 404 when the page's connection is
// gone (it reconnects and joins again), 400 when wsgate refused the input
// (a malformed client id), 502 otherwise.
func (s *server) fail(w http.ResponseWriter, what string, err error) {
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "not connected to wsgate (reconnect and join again)")
		return
	case errors.Is(err, errRefused):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Warn("chat: calling wsgate", "op", what, "err", err)
	writeError(w, http.StatusBadGateway, "wsgate is unreachable")
}

// readJSON decodes a JSON request body of at most 4 KiB into v, answering 400
// or 415 itself when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func mustSub(fsys embed.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
