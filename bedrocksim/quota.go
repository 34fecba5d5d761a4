package bedrocksim

import "time"

// Quota is the set of limits for one key (a model ID or an inference-profile
// ID), the simulator's version of Bedrock's "per minute" and "per day"
// quotas. Zero means unlimited on that axis; negative limits are an
// [*OptionError]. Each limit is a bucket that holds one period of quota
// and refills continuously.
type Quota struct {
	// RequestsPerWindow is the number of requests per window ([WithWindow])
	// (Bedrock's requests per minute).
	RequestsPerWindow int64
	// TokensPerWindow is the number of quota tokens per window
	// ([WithWindow]) (Bedrock's tokens per minute).
	TokensPerWindow int64
	// TokensPerDay is the number of quota tokens per simulated day of 1440
	// windows.
	TokensPerDay int64
}

// dayWindows is the number of windows in a simulated day.
const dayWindows = 1440

// throttleKind says which limit refused a request.
type throttleKind int

// The throttle kinds, in the order [ledger.admitAt] checks them.
const (
	throttleNone throttleKind = iota
	throttleRequests
	throttleTokens
	throttleTokensPerDay
)

// String returns a short name for the kind.
func (t throttleKind) String() string {
	switch t {
	case throttleRequests:
		return "requests"
	case throttleTokens:
		return "tokens"
	case throttleTokensPerDay:
		return "tokens_per_day"
	}
	return "none"
}

// bucket is a continuously refilled token bucket. A level below zero is a
// debt left by a settlement larger than its reservation.
type bucket struct {
	limit float64 // capacity at scale 1; 0 = unlimited
	span  time.Duration
	level float64
	last  time.Time
}

func (b *bucket) capacity(scale float64) float64 { return b.limit * scale }

func (b *bucket) advance(now time.Time, scale float64) {
	if b.limit == 0 {
		return
	}
	if dt := now.Sub(b.last); dt > 0 {
		c := b.capacity(scale)
		b.level = min(c, b.level+c*dt.Seconds()/b.span.Seconds())
		b.last = now
	}
}

// ledger is the quota accounting of one key: a requests bucket, a tokens
// bucket and a tokens-per-day bucket, each with a capacity of one period's
// quota and refilled continuously. All methods take the current time, so the
// arithmetic is pure and tests are step tables. A ledger is not safe for
// concurrent use; [Server] guards its ledgers with a mutex.
type ledger struct {
	req, tok, day bucket
	scale         float64
}

// newLedger returns a ledger for q with full buckets at now.
func newLedger(q Quota, window time.Duration, now time.Time) *ledger {
	mk := func(limit int64, span time.Duration) bucket {
		return bucket{limit: float64(limit), span: span, level: float64(limit), last: now}
	}
	return &ledger{
		req:   mk(q.RequestsPerWindow, window),
		tok:   mk(q.TokensPerWindow, window),
		day:   mk(q.TokensPerDay, window*dayWindows),
		scale: 1,
	}
}

func (l *ledger) advance(now time.Time) {
	l.req.advance(now, l.scale)
	l.tok.advance(now, l.scale)
	l.day.advance(now, l.scale)
}

// admitAt tries to admit one request reserving tokens at now. It checks the
// requests bucket, then tokens per minute, then tokens per day, and takes
// nothing unless all three admit. A reservation larger than a bucket's
// capacity is refused by that bucket forever, as Bedrock does.
func (l *ledger) admitAt(now time.Time, tokens int64) throttleKind {
	l.advance(now)
	t := float64(tokens)
	switch {
	case l.req.limit > 0 && l.req.level < 1:
		return throttleRequests
	case l.tok.limit > 0 && l.tok.level < t:
		return throttleTokens
	case l.day.limit > 0 && l.day.level < t:
		return throttleTokensPerDay
	}
	if l.req.limit > 0 {
		l.req.level--
	}
	if l.tok.limit > 0 {
		l.tok.level -= t
	}
	if l.day.limit > 0 {
		l.day.level -= t
	}
	return throttleNone
}

// settleAt settles a request admitted with reserved tokens that finally cost
// charged tokens: the difference is refunded to (or, if negative, taken
// from) the token buckets. It returns the refund.
func (l *ledger) settleAt(now time.Time, reserved, charged int64) int64 {
	l.advance(now)
	refund := reserved - charged
	for _, b := range []*bucket{&l.tok, &l.day} {
		if b.limit > 0 {
			b.level = min(b.capacity(l.scale), b.level+float64(refund))
		}
	}
	return refund
}

// setScaleAt scales all three capacities (and refill rates) to f times the
// quota from now on, as when another tenant starts sharing the pool. Levels
// above the new capacity are cut to it.
func (l *ledger) setScaleAt(now time.Time, f float64) {
	if f == l.scale || f <= 0 {
		return
	}
	l.advance(now)
	l.scale = f
	for _, b := range []*bucket{&l.req, &l.tok, &l.day} {
		b.level = min(b.level, b.capacity(f))
	}
}

// available reports the levels of the requests, tokens and tokens-per-day
// buckets at now, without taking anything. Unlimited axes report -1.
func (l *ledger) available(now time.Time) (requests, tokens, tokensPerDay float64) {
	l.advance(now)
	lv := func(b *bucket) float64 {
		if b.limit == 0 {
			return -1
		}
		return b.level
	}
	return lv(&l.req), lv(&l.tok), lv(&l.day)
}
