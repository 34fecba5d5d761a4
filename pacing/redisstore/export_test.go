package redisstore

import "time"

// SetObserver makes s call f with the server time each script used.
func SetObserver(s *Store, f func(time.Time)) { s.observe = f }
