package bedrocksim

import "time"

// Quota is the set of limits for one key (a model ID or an inference-profile
// ID). "Per minute" means per [Options.Window]. Zero means unlimited on that
// axis. A day is 1440 windows.
type Quota struct {
	RequestsPerMinute int64
	TokensPerMinute   int64
	TokensPerDay      int64
}

// DayWindows is the number of windows in a simulated day.
const DayWindows = 1440

// Throttle says which limit refused a request.
type Throttle int

// The throttle kinds, in the order [Ledger.AdmitAt] checks them.
const (
	NotThrottled Throttle = iota
	ThrottledRequests
	ThrottledTokens
	ThrottledTokensPerDay
)

// String returns a short name for the kind.
func (t Throttle) String() string {
	switch t {
	case ThrottledRequests:
		return "requests"
	case ThrottledTokens:
		return "tokens"
	case ThrottledTokensPerDay:
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

// Ledger is the quota accounting of one key: a requests bucket, a tokens
// bucket and a tokens-per-day bucket, each with a capacity of one period's
// quota and refilled continuously. All methods take the current time, so the
// arithmetic is pure and tests are step tables. A Ledger is not safe for
// concurrent use; [Server] guards its ledgers with a mutex.
type Ledger struct {
	req, tok, day bucket
	scale         float64
}

// NewLedger returns a Ledger for q with full buckets at now.
func NewLedger(q Quota, window time.Duration, now time.Time) *Ledger {
	mk := func(limit int64, span time.Duration) bucket {
		return bucket{limit: float64(limit), span: span, level: float64(limit), last: now}
	}
	return &Ledger{
		req:   mk(q.RequestsPerMinute, window),
		tok:   mk(q.TokensPerMinute, window),
		day:   mk(q.TokensPerDay, window*DayWindows),
		scale: 1,
	}
}

func (l *Ledger) advance(now time.Time) {
	l.req.advance(now, l.scale)
	l.tok.advance(now, l.scale)
	l.day.advance(now, l.scale)
}

// AdmitAt tries to admit one request reserving tokens at now. It checks the
// requests bucket, then tokens per minute, then tokens per day, and takes
// nothing unless all three admit. A reservation larger than a bucket's
// capacity is refused by that bucket forever, as Bedrock does.
func (l *Ledger) AdmitAt(now time.Time, tokens int64) Throttle {
	l.advance(now)
	t := float64(tokens)
	switch {
	case l.req.limit > 0 && l.req.level < 1:
		return ThrottledRequests
	case l.tok.limit > 0 && l.tok.level < t:
		return ThrottledTokens
	case l.day.limit > 0 && l.day.level < t:
		return ThrottledTokensPerDay
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
	return NotThrottled
}

// SettleAt settles a request admitted with reserved tokens that finally cost
// charged tokens: the difference is refunded to (or, if negative, taken
// from) the token buckets. It returns the refund.
func (l *Ledger) SettleAt(now time.Time, reserved, charged int64) int64 {
	l.advance(now)
	refund := reserved - charged
	for _, b := range []*bucket{&l.tok, &l.day} {
		if b.limit > 0 {
			b.level = min(b.capacity(l.scale), b.level+float64(refund))
		}
	}
	return refund
}

// SetScaleAt scales all three capacities (and refill rates) to f times the
// quota from now on, as when another tenant starts sharing the pool. Levels
// above the new capacity are cut to it.
func (l *Ledger) SetScaleAt(now time.Time, f float64) {
	if f == l.scale || f <= 0 {
		return
	}
	l.advance(now)
	l.scale = f
	for _, b := range []*bucket{&l.req, &l.tok, &l.day} {
		b.level = min(b.level, b.capacity(f))
	}
}

// Available reports the levels of the requests, tokens and tokens-per-day
// buckets at now, without taking anything. Unlimited axes report -1.
func (l *Ledger) Available(now time.Time) (requests, tokens, tokensPerDay float64) {
	l.advance(now)
	lv := func(b *bucket) float64 {
		if b.limit == 0 {
			return -1
		}
		return b.level
	}
	return lv(&l.req), lv(&l.tok), lv(&l.day)
}
