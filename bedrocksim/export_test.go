package bedrocksim

import "time"

// Internals the external tests (package bedrocksim_test) compute their
// expectations with. They are not part of the package's API.

// InputTokens is the simulator's token rule, see inputTokens.
var InputTokens = inputTokens

const (
	MessageOverhead  = messageOverhead
	DefaultOutputCap = defaultOutputCap
)

// TokensAvailable reports the level of key's tokens bucket at now: -1 when
// unlimited, or when no call has used key yet.
func (s *Server) TokensAvailable(key string, now time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.ledgers[key]
	if l == nil {
		return -1
	}
	c := *l
	_, tok, _ := c.available(now)
	return tok
}
