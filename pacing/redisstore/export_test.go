package redisstore

import "time"

// SetObserver makes s call f with the server time each script used.
func SetObserver(s *Store, f func(time.Time)) { s.observe = f }

// WithClientClock makes the scripts use now instead of Redis TIME, so the
// conformance suite can drive the clock.
func WithClientClock(now func() time.Time) Option { return withClientClock(now) }

// Key returns the Redis key of a pacing key.
func (s *Store) Key(k string) string { return s.key(k) }

// ErrUnavailableForTest is the error the store wraps while it fails fast.
var ErrUnavailableForTest = errUnavailable

// SetWallClock makes s time its fail-fast delays with now.
func SetWallClock(s *Store, now func() time.Time) { s.wall = now }
