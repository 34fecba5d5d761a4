package limiter

import (
	"math"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// axis is the state of one token bucket with an adaptive rate. All methods
// are pure arithmetic on the state and take the time as a parameter.
//
// Rates are expressed per window: rate r means r units refill per Window,
// and the bucket holds at most r units (one window's worth).
type axis struct {
	init  bool
	level float64   // units available; negative is debt
	last  time.Time // time level was last brought up to date

	limited     bool      // the axis is being paced
	wMax        float64   // rate in force when the last throttle arrived
	decreasedAt time.Time // time of the last decrease; zero if none
	base        float64   // rate right after the last decrease

	measured   float64 // admitted units, exponentially decayed with time constant Window
	measuredAt time.Time
	firstAt    time.Time // first admission, to scale the rate of a young key
}

// rate returns the effective rate per window at now.
func (s *axis) rate(c *pacing.AxisConfig, now time.Time) float64 {
	if !s.limited {
		return math.Inf(1)
	}
	if s.decreasedAt.IsZero() {
		return c.Quota
	}
	t := float64(now.Sub(s.decreasedAt)) / float64(c.Window) // windows since the decrease
	if t < 0 {
		t = 0
	}
	var r float64
	switch c.Algorithm {
	case pacing.AIMD:
		ref := c.Quota
		if ref == 0 {
			ref = s.wMax
		}
		r = s.base + c.AIMDIncrease*ref*t
	default:
		// W(t) = wMax (1 + C (t-K)^3), with K chosen so that W(0) is the
		// rate right after the decrease: K = cbrt((1 - base/wMax) / C).
		k := math.Cbrt(math.Max(0, 1-s.base/s.wMax) / c.CubicC)
		d := t - k
		r = s.wMax * (1 + c.CubicC*d*d*d)
	}
	return s.ceiling(c, now, r)
}

// ceiling caps r at the quota when it is known, and otherwise at twice the
// measured admission rate, so that an idle key does not "recover" to a rate
// it never used.
func (s *axis) ceiling(c *pacing.AxisConfig, now time.Time, r float64) float64 {
	limit := c.Quota
	if limit == 0 {
		limit = math.Max(2*s.recent(c, now), s.wMax)
	}
	if r > limit {
		r = limit
	}
	if r < minRate {
		r = minRate
	}
	return r
}

// minRate keeps a paced axis from stopping completely: one unit per window.
const minRate = 1

// recent returns the decayed admitted amount at now, an estimate of the
// units admitted over the last window.
func (s *axis) recent(c *pacing.AxisConfig, now time.Time) float64 {
	if s.measuredAt.IsZero() {
		return 0
	}
	dt := float64(now.Sub(s.measuredAt))
	if dt <= 0 {
		return s.measured
	}
	return s.measured * math.Exp(-dt/float64(c.Window))
}

// rateEstimate is the measured admission rate per window. The decayed sum
// is the amount admitted over about the last window; a key younger than a
// window has had less time to admit, so its sum is scaled up by
// window/age, with the age counted as at least a sixtieth of the window
// (one second of a minute): a burst in the first seconds is a high rate,
// not a low one.
func (s *axis) rateEstimate(c *pacing.AxisConfig, now time.Time) float64 {
	r := s.recent(c, now)
	if s.firstAt.IsZero() {
		return r
	}
	age := math.Max(float64(now.Sub(s.firstAt)), float64(c.Window)/60)
	if age < float64(c.Window) {
		r *= float64(c.Window) / age
	}
	return r
}

// capacity is one window's worth at the current rate.
func (s *axis) capacity(c *pacing.AxisConfig, now time.Time) float64 { return s.rate(c, now) }

// advance brings level up to date at now.
func (s *axis) advance(c *pacing.AxisConfig, now time.Time) {
	if !s.init {
		s.init = true
		s.limited = c.Quota > 0
		s.last = now
		if s.limited {
			s.level = c.Quota * c.InitialFill
		}
		return
	}
	if !s.limited || !now.After(s.last) {
		return
	}
	r := s.rate(c, now)
	s.level += r * float64(now.Sub(s.last)) / float64(c.Window)
	if s.level > r {
		s.level = r
	}
	s.last = now
}

// wait returns how long until the bucket holds n units (or is full, for a
// request larger than the bucket), at the current rate. Zero means now.
func (s *axis) wait(c *pacing.AxisConfig, now time.Time, n float64) time.Duration {
	if !s.limited {
		return 0
	}
	r := s.rate(c, now)
	need := math.Min(n, r)
	if s.level >= need {
		return 0
	}
	d := (need - s.level) / r * float64(c.Window)
	if d > float64(maxWait) {
		return maxWait
	}
	return time.Duration(math.Ceil(d))
}

// maxWait bounds any single computed wait so that arithmetic never overflows.
const maxWait = 24 * time.Hour

// take charges n units (admission), which may leave debt when n exceeds
// what the bucket holds.
func (s *axis) take(c *pacing.AxisConfig, now time.Time, n float64) {
	if s.limited {
		s.level -= n
	}
	s.measured = s.recent(c, now) + n
	s.measuredAt = now
	if s.firstAt.IsZero() {
		s.firstAt = now
	}
}

// give returns n units (a refund; negative n charges more).
func (s *axis) give(c *pacing.AxisConfig, now time.Time, n float64) {
	if !s.limited {
		return
	}
	s.level += n
	if r := s.rate(c, now); s.level > r {
		s.level = r
	}
	if n < 0 {
		s.measured = s.recent(c, now) - n
		s.measuredAt = now
	}
}

// throttled applies a multiplicative decrease and empties the bucket: the
// server's bucket is empty when it throttles. Throttles within Cooldown of
// the last decrease only empty the bucket, so that one burst of rejected
// in-flight requests counts as one congestion signal. It reports whether
// the rate was decreased.
func (s *axis) throttled(c *pacing.AxisConfig, now time.Time) bool {
	decrease := s.decreasedAt.IsZero() || now.Sub(s.decreasedAt) >= c.Cooldown
	if decrease {
		var cur float64
		if s.limited {
			cur = s.rate(c, now)
		} else {
			cur = math.Max(s.rateEstimate(c, now), minRate)
		}
		s.limited = true
		// Fast convergence (as in TCP pacing.CUBIC): a throttle below the rate of
		// the previous one means the available quota shrank, so aim lower
		// than the rate that throttled.
		if s.wMax > 0 && cur < s.wMax {
			s.wMax = cur * (1 + c.Beta) / 2
		} else {
			s.wMax = cur
		}
		s.base = math.Max(c.Beta*cur, minRate)
		s.decreasedAt = now
		s.last = now
	}
	if s.level > 0 {
		s.level = 0
	}
	return decrease
}
