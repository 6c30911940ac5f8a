package webhook

// typeIndex numbers the event types for counting.
type typeIndex uint8

const (
	typeConnect typeIndex = iota
	typeConnected
	typeMessage
	typeDisconnected
	typeNodeStarted
	typeCount
)

var typeNames = [typeCount]string{TypeConnect, TypeConnected, TypeMessage, TypeDisconnected, TypeNodeStarted}

// typeOf is t's index; Config.normalize has checked t.
func typeOf(t string) typeIndex {
	for i, n := range typeNames {
		if n == t {
			return typeIndex(i)
		}
	}
	return typeCount
}

// result is what became of an event.
type result uint8

const (
	resultDelivered result = iota // the backend answered 2xx
	resultRejected                // the backend answered a 4xx that is not retried
	resultExpired                 // not delivered within Config.RetryFor
	resultDropped                 // the queue was full (or the gateway stopped first)
	resultSkipped                 // not sent by the delivery rules (the client left before its connected went out)
	resultAccepted                // connect: the backend let the client in
	resultRefused                 // connect: the backend answered 401 or 403
	resultFailed                  // connect: no usable answer (timeout, 5xx, garbled)
	resultAbandoned               // connect: the client left before its turn; not asked about
	resultCount
	resultRetry = resultCount // an attempt to be repeated; never counted
)

var resultNames = [resultCount]string{"delivered", "rejected", "expired", "dropped", "skipped", "accepted", "refused", "failed", "abandoned"}

func (s *Sender) count(t typeIndex, r result, n int64) { s.counts[t][r].Add(n) }

func (s *Sender) countBatch(b *batch, r result) {
	for t, n := range b.counts {
		if n > 0 {
			s.count(typeIndex(t), r, n)
		}
	}
}

// Stats are the Sender's counters.
type Stats struct {
	// Events counts events by type, then by result: delivered, rejected,
	// expired, dropped, skipped; and for connect: accepted, refused, failed,
	// abandoned.
	// Only non-zero counts appear.
	Events     map[string]map[string]int64 `json:"events"`
	Retries    int64                       `json:"retries"`     // attempts repeated after a failure
	QueueBytes int64                       `json:"queue_bytes"` // queued now, item overhead included
}

// Stats returns a snapshot of the counters.
func (s *Sender) Stats() Stats {
	st := Stats{Events: map[string]map[string]int64{}, Retries: s.retries.Load(), QueueBytes: s.queued.Load()}
	for t := range typeCount {
		for r := range resultCount {
			if n := s.counts[t][r].Load(); n > 0 {
				if st.Events[typeNames[t]] == nil {
					st.Events[typeNames[t]] = map[string]int64{}
				}
				st.Events[typeNames[t]][resultNames[r]] = n
			}
		}
	}
	return st
}
