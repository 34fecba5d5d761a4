package bedrocksim

import (
	"maps"
	"time"
)

// KeyStats are the counters of one key (model or inference-profile ID, as
// the client sent it). Every request the server receives is counted exactly
// once in Requests, and ends in exactly one of Accepted, a Throttled* field
// other than ThrottledMidStream, or Errors (by error type).
type KeyStats struct {
	Requests              int64            `json:"requests"`
	Accepted              int64            `json:"accepted"`
	ThrottledRequests     int64            `json:"throttledRequests"`
	ThrottledTokens       int64            `json:"throttledTokens"`
	ThrottledTokensPerDay int64            `json:"throttledTokensPerDay"`
	ThrottledMidStream    int64            `json:"throttledMidStream"` // accepted calls cut by a stream throttle
	Errors                map[string]int64 `json:"errors,omitempty"`   // by error type, e.g. ServiceUnavailableException, ConnectionReset
	TokensReserved        int64            `json:"tokensReserved"`
	TokensCharged         int64            `json:"tokensCharged"`
	TokensRefunded        int64            `json:"tokensRefunded"` // negative when burndown exceeded the reservation
	InputTokens           int64            `json:"inputTokens"`
	OutputTokens          int64            `json:"outputTokens"`
	CacheReadTokens       int64            `json:"cacheReadTokens"`
	CacheWriteTokens      int64            `json:"cacheWriteTokens"`
}

// Second is one second of the timeline, summed over all keys. Time is the
// start of the second on the accounting clock.
type Second struct {
	Time          time.Time `json:"time"`
	Requests      int64     `json:"requests"`
	Accepted      int64     `json:"accepted"`
	Throttled     int64     `json:"throttled"` // admission throttles and mid-stream throttles
	Errors        int64     `json:"errors"`
	InputTokens   int64     `json:"inputTokens"`
	OutputTokens  int64     `json:"outputTokens"`
	TokensCharged int64     `json:"tokensCharged"`
}

// Stats is a snapshot of the simulator's own view, for comparison with what
// clients saw. It is also served as JSON by GET /_sim/stats.
type Stats struct {
	Requests int64               `json:"requests"` // all requests, including ones with no valid key
	Keys     map[string]KeyStats `json:"keys"`
	// Timeline holds the most recent seconds that saw activity, oldest
	// first, at most 3600 of them (an hour).
	Timeline []Second `json:"timeline"`
}

// maxTimeline is the number of seconds the timeline keeps.
const maxTimeline = 3600

// recorder accumulates Stats. Guarded by Server.mu.
type recorder struct {
	total    int64
	keys     map[string]*KeyStats
	timeline []Second
}

func (r *recorder) key(k string) *KeyStats {
	ks := r.keys[k]
	if ks == nil {
		if r.keys == nil {
			r.keys = map[string]*KeyStats{}
		}
		ks = &KeyStats{}
		r.keys[k] = ks
	}
	return ks
}

// second returns the timeline entry for now, creating it if needed.
func (r *recorder) second(now time.Time) *Second {
	t := now.Truncate(time.Second)
	for i := len(r.timeline) - 1; i >= 0 && i >= len(r.timeline)-8; i-- {
		switch s := &r.timeline[i]; {
		case s.Time.Equal(t):
			return s
		case s.Time.Before(t):
			if i == len(r.timeline)-1 {
				return r.push(t)
			}
			return s // late arrival: book it on the nearest earlier second
		}
	}
	if len(r.timeline) == 0 {
		return r.push(t)
	}
	return &r.timeline[0]
}

func (r *recorder) push(t time.Time) *Second {
	if len(r.timeline) >= maxTimeline {
		r.timeline = append(r.timeline[:0], r.timeline[1:]...)
	}
	r.timeline = append(r.timeline, Second{Time: t})
	return &r.timeline[len(r.timeline)-1]
}

func (r *recorder) request(k string, now time.Time) {
	r.total++
	r.key(k).Requests++
	r.second(now).Requests++
}

func (r *recorder) error(k, typ string, now time.Time) {
	ks := r.key(k)
	if ks.Errors == nil {
		ks.Errors = map[string]int64{}
	}
	ks.Errors[typ]++
	r.second(now).Errors++
}

func (r *recorder) throttle(k string, t throttleKind, now time.Time) {
	ks := r.key(k)
	switch t {
	case throttleRequests:
		ks.ThrottledRequests++
	case throttleTokens:
		ks.ThrottledTokens++
	case throttleTokensPerDay:
		ks.ThrottledTokensPerDay++
	}
	r.second(now).Throttled++
}

func (r *recorder) accept(k string, reserved int64, now time.Time) {
	ks := r.key(k)
	ks.Accepted++
	ks.TokensReserved += reserved
	r.second(now).Accepted++
}

func (r *recorder) settle(k string, u usage, charged, refund int64, e ending, now time.Time) {
	ks := r.key(k)
	ks.TokensCharged += charged
	ks.TokensRefunded += refund
	ks.InputTokens += int64(u.input)
	ks.OutputTokens += int64(u.output)
	ks.CacheReadTokens += int64(u.cacheRead)
	ks.CacheWriteTokens += int64(u.cacheWrite)
	s := r.second(now)
	s.InputTokens += int64(u.input)
	s.OutputTokens += int64(u.output)
	s.TokensCharged += charged
	if e == endedByThrottle {
		ks.ThrottledMidStream++
		s.Throttled++
	}
}

func (r *recorder) snapshot() Stats {
	st := Stats{Requests: r.total, Keys: make(map[string]KeyStats, len(r.keys))}
	for k, v := range r.keys {
		c := *v
		c.Errors = maps.Clone(v.Errors)
		st.Keys[k] = c
	}
	st.Timeline = append([]Second(nil), r.timeline...)
	return st
}
