package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wsgate/wsgate/hub"
)

// ConnectRequest is a client waiting for the backend's connect answer.
type ConnectRequest struct {
	Client Client      // what it has so far (its token's uid, groups, session)
	Path   string      // request path
	Query  string      // raw query; its token parameters are left out of the event
	Header http.Header // request headers; only Config's list goes out
	// Waiting reports whether the client still waits for the answer (nil:
	// always): a client that hung up or timed out in line is not asked
	// about, and gets no answer (counted as abandoned).
	Waiting func() bool
}

// Answer is the backend's word on a connecting client.
type Answer struct {
	Accept bool
	// Status and Text are the HTTP refusal when Accept is false: the
	// backend's 401 or 403 with its short text, or 503 when the backend
	// failed and Config.ConnectFailOpen is off.
	Status int
	Text   string
	// UID replaces the token's uid when not ""; Groups are added to the
	// token's; Session replaces the token's when not nil (compact JSON
	// object).
	UID     string
	Groups  []string
	Session json.RawMessage
	Failed  bool // the backend gave no usable answer (the client may still be let in: ConnectFailOpen)
}

type connectJob struct {
	body    []byte
	groups  []string // the client's groups so far: the answer's add to them
	waiting func() bool
	answer  func(Answer)
}

// connectBacklog is how many clients may wait in line per connect worker;
// past it they get the failure answer at once.
const connectBacklog = 64

// Connect posts the connect event of r alone and calls answer with the
// backend's word, once, on a worker goroutine (or on the caller's, when
// too many clients wait or the Sender is closing). answer must not block
// for long: it delays the next client's question.
func (s *Sender) Connect(r *ConnectRequest, answer func(Answer)) {
	body := append(append([]byte(`{"events":[`), s.connectEvent(&r.Client, r.Path, r.Query, r.Header)...), "]}"...)
	if !s.enqueueJob(connectJob{body, r.Client.Groups, r.Waiting, answer}) {
		s.count(typeConnect, resultFailed, 1)
		answer(s.failure()) // no lock held: the answer writes to the client
	}
}

// enqueueJob puts j in line unless the line is full or the Sender closing.
// jobsMu keeps Close from closing the channel during the send.
func (s *Sender) enqueueJob(j connectJob) bool {
	s.jobsMu.RLock()
	defer s.jobsMu.RUnlock()
	if s.closing.Load() {
		return false
	}
	select {
	case s.jobs <- j:
		return true
	default:
		return false
	}
}

// connectWorker asks the backend about one client after another.
func (s *Sender) connectWorker() {
	defer s.wg.Done()
	for j := range s.jobs {
		switch {
		case j.waiting != nil && !j.waiting():
			s.count(typeConnect, resultAbandoned, 1)
		case s.closing.Load():
			s.count(typeConnect, resultFailed, 1)
			j.answer(s.failure())
		default:
			s.awaitStarted()
			j.answer(s.ask(j.body, j.groups))
		}
	}
}

// awaitStarted holds a connect question until node.started is done with
// (so that it is the node's first event) or for Config.Timeout at most: a
// backend that cannot take node.started would fail the question anyway.
func (s *Sender) awaitStarted() {
	select {
	case <-s.started:
		return
	default:
	}
	t := time.NewTimer(s.cfg.Timeout)
	defer t.Stop()
	select {
	case <-s.started:
	case <-t.C:
	}
}

// ask posts one connect event and reads the answer.
func (s *Sender) ask(body []byte, groups []string) Answer {
	status, data, err := s.request(s.ids.next("c"), body)
	switch {
	case err == nil && status >= 200 && status < 300:
		a, perr := s.parseAnswer(data, groups)
		if perr == nil {
			s.count(typeConnect, resultAccepted, 1)
			return a
		}
		err = perr
	case err == nil && (status == http.StatusUnauthorized || status == http.StatusForbidden):
		s.count(typeConnect, resultRefused, 1)
		return Answer{Status: status, Text: refusalText(data)}
	}
	s.count(typeConnect, resultFailed, 1)
	s.warn.Warn("webhook connect failed", "status", status, "err", err, "fail_open", s.cfg.ConnectFailOpen)
	return s.failure()
}

// failure is the answer when the backend gave none.
func (s *Sender) failure() Answer {
	if s.cfg.ConnectFailOpen {
		return Answer{Accept: true, Failed: true}
	}
	return Answer{Status: http.StatusServiceUnavailable, Text: "backend unavailable", Failed: true}
}

// parseAnswer reads a 2xx body: empty, or {"uid","groups","session"} (each
// optional; other fields are ignored). The answer's groups are added to
// have, the client's so far: together they must fit Config.MaxGroups.
func (s *Sender) parseAnswer(data []byte, have []string) (Answer, error) {
	a := Answer{Accept: true}
	if len(bytes.TrimSpace(data)) == 0 {
		return a, nil
	}
	var v struct {
		UID     string          `json:"uid"`
		Groups  []string        `json:"groups"`
		Session json.RawMessage `json:"session"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return Answer{}, fmt.Errorf("connect answer is not the JSON object expected: %w", err)
	}
	if v.UID != "" {
		if err := hub.CheckName(v.UID); err != nil {
			return Answer{}, fmt.Errorf("connect answer's uid: %w", err)
		}
	}
	if len(v.Groups) > s.cfg.MaxGroups {
		return Answer{}, fmt.Errorf("connect answer names %d groups, at most %d", len(v.Groups), s.cfg.MaxGroups)
	}
	all := make(map[string]struct{}, len(have)+len(v.Groups))
	for _, g := range have {
		all[g] = struct{}{}
	}
	for _, g := range v.Groups {
		if err := hub.CheckName(g); err != nil {
			return Answer{}, fmt.Errorf("connect answer's group: %w", err)
		}
		all[g] = struct{}{}
	}
	if len(all) > s.cfg.MaxGroups {
		return Answer{}, fmt.Errorf("connect answer's groups with the client's make %d, at most %d", len(all), s.cfg.MaxGroups)
	}
	if v.Session != nil {
		session, err := hub.CompactSession(v.Session)
		if err != nil {
			return Answer{}, fmt.Errorf("connect answer's session: %w", err)
		}
		if len(session) > s.cfg.MaxSession {
			return Answer{}, fmt.Errorf("connect answer's session is %d bytes, at most %d", len(session), s.cfg.MaxSession)
		}
		a.Session = session
		if a.Session == nil {
			a.Session = json.RawMessage("{}")
		}
	}
	a.UID, a.Groups = v.UID, v.Groups
	return a, nil
}

// maxRefusalText bounds the backend's text passed on to a refused client.
const maxRefusalText = 200

// refusalText is the backend's refusal body when it is short printable
// text, else a generic word.
func refusalText(data []byte) string {
	t := strings.TrimSpace(string(data))
	if t == "" || len(t) > maxRefusalText || !utf8.ValidString(t) || strings.IndexFunc(t, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "refused by the backend"
	}
	return t
}
