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
//
// An axis goes through three phases:
//
//   - Slow start, when its quota is unknown and it has not been throttled:
//     the first admission is a small burst (slowStartBurst times the first
//     request), then every admitted unit raises the rate by slowStartGain
//     units, so the rate grows by e each Window/slowStartGain while demand
//     fills it (as TCP's slow start doubles per round trip), never above
//     slowStartCap times what was admitted over the last window.
//   - After a throttle, the ceiling is estimated from the evidence: the
//     units charged since the previous decrease (or since the first
//     admission, counting one window's worth for the server's bucket being
//     full at rest), divided by the time. The server's bucket was empty at
//     both ends, so that is what it refilled: a lower bound of its rate
//     (plus half a mean admission, what the server held when it refused
//     one). Each suffix of the span from one of the last numCheckpoints
//     checkpoints gives another (see estimate); the largest is used.
//     Units count as the service charged them (see giveSplit and
//     Ticket.SettleAdmitted). The rate holds at holdMargin under the
//     estimate, and the bucket is left throttlePause Cooldowns in debt.
//     Without enough evidence (under evidenceSpan windows), with an
//     estimate within evidenceBelow of a rate that was held (a ceiling
//     that held most of the span and dropped just before its end), or
//     with one under Beta times it over less than deepSpan windows, it
//     falls back to a multiplicative decrease by Beta, floored and
//     flattened by a span of at least shortSpan windows.
//   - Probing: after the hold (hold windows, doubled after each probe that
//     found no new capacity, up to maxHold, or maxHoldLearned without a
//     configured quota), the rate regrows along the
//     CUBIC (or AIMD) curve towards and past wMax. A probe ends with one
//     throttle; the evidence from it resets the estimate.
type axis struct {
	init  bool
	level float64   // units available; negative is debt
	last  time.Time // time level was last brought up to date

	limited     bool      // the axis is being paced
	wMax        float64   // the estimated ceiling (or the rate in force) at the last decrease
	decreasedAt time.Time // time of the last decrease; zero if none
	base        float64   // rate right after the last decrease; in slow start, the initial rate
	hold        float64   // windows the rate stays at base after the decrease
	gap         float64   // the hold after the next decrease whose estimate confirms wMax

	slow float64 // slow-start rate; 0 before the first admission

	spent  float64   // net units charged since markAt
	markAt time.Time // start of the evidence span: first admission or last decrease
	credit float64   // windows of quota assumed in the server's bucket at markAt

	// ckAt and ckSpent are the last numCheckpoints checkpoints of the
	// evidence span, newest first: the time and spent at it, taken at
	// most once a checkpointEvery of the window.
	ckAt    [numCheckpoints]time.Time
	ckSpent [numCheckpoints]float64

	measured   float64 // admitted units, exponentially decayed with time constant Window
	avgTake    float64 // mean size of an admission (moving average over about takeAvgN)
	measuredAt time.Time
	firstAt    time.Time // first admission, to scale the rate of a young key
	// clipped is the last time the level was cut to a full bucket: what
	// the calls then in flight had over-reserved (reservation minus the
	// service's charge) was absorbed by the cap on the service's side too,
	// and is not refunded again (see giveSplit's over).
	clipped time.Time
}

// Constants of the adaptive arithmetic. pacing/redisstore's bucket.lua
// mirrors them.
const (
	// slowStartBurst is the first admission of an axis without a quota, in
	// multiples of the first request.
	slowStartBurst = 4
	// slowStartGain is the rate added per admitted unit in slow start.
	slowStartGain = 4
	// slowStartCap bounds the slow-start rate at this multiple of the units
	// admitted over the last window, so that an axis that is not the
	// bottleneck does not grow without bound.
	slowStartCap = 8
	// evidenceSpan is the shortest evidence span, in windows, whose
	// estimate of the ceiling is used.
	evidenceSpan = 1
	// evidenceBelow: out of slow start, the estimate of the ceiling is used
	// only when it is at most this fraction of the rate that was throttled.
	// An estimate close to that rate says the rate was sustained over most
	// of the span, so the span mostly measured a ceiling that held until
	// just before the throttle (a silent quota drop): Beta takes the first
	// step instead.
	evidenceBelow = 0.95
	// deepSpan is the shortest evidence span, in windows, whose estimate
	// is used for a cut deeper than Beta.
	deepSpan = 2
	// holdMargin is how far under the estimated ceiling the rate holds.
	holdMargin = 0.03
	// minHold and maxHold bound the hold before a probe, in windows.
	// Without a configured quota the hold stops at maxHoldLearned, so that
	// a quota that rose (or a neighbour that left) is found within about
	// ten windows; with one, the probes only look for the configured quota
	// coming back, and are rarer: the first hold after the ceiling moved
	// is minHoldTold (8, 16, 16, ...: at most one probe's throttle per
	// 20 windows once the estimate holds).
	minHold        = 2
	minHoldTold    = 8
	maxHold        = 16
	maxHoldLearned = 4
	// numCheckpoints and checkpointEvery: the evidence span keeps its
	// last numCheckpoints checkpoints, one per checkpointEvery of the
	// window, so that a throttle can also measure from them (see
	// estimate).
	numCheckpoints  = 4
	checkpointEvery = 0.25
	// throttlePause is the debt a throttle leaves, in Cooldowns of refill.
	throttlePause = 0.5
	// confirmTolerance is the relative change of the estimate under which
	// a probe's throttle confirms the previous ceiling (so the next hold
	// doubles); a larger change means the ceiling moved (the hold restarts
	// at minHold).
	confirmTolerance = 0.1
	// takeAvgN is the number of admissions the mean admission size
	// averages over (an exponential moving average).
	takeAvgN = 8
	// shortSpan is the shortest evidence span, in windows, whose bound
	// still floors a Beta step (see throttled).
	shortSpan = 0.25
)

// slowStart reports whether the axis is in slow start.
func (s *axis) slowStart(c *pacing.AxisConfig) bool {
	return s.limited && c.Quota == 0 && s.decreasedAt.IsZero()
}

// rate returns the effective rate per window at now.
func (s *axis) rate(c *pacing.AxisConfig, now time.Time) float64 {
	if !s.limited {
		return math.Inf(1)
	}
	if s.decreasedAt.IsZero() {
		if c.Quota > 0 {
			return c.Quota
		}
		if s.slow == 0 {
			return math.Inf(1) // nothing admitted yet: the first request goes at once
		}
		return s.slow
	}
	t := float64(now.Sub(s.decreasedAt))/float64(c.Window) - s.hold // windows since the hold ended
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

// advance brings level up to date at now.
func (s *axis) advance(c *pacing.AxisConfig, now time.Time) {
	if !s.init {
		s.init = true
		s.limited = true
		s.last = now
		s.level = c.Quota * c.InitialFill
		return
	}
	if !s.limited || !now.After(s.last) {
		return
	}
	r := s.rate(c, now)
	if math.IsInf(r, 1) {
		s.last = now
		return
	}
	s.level += r * float64(now.Sub(s.last)) / float64(c.Window)
	if s.level > r {
		s.level = r
		s.clipped = now
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
	if math.IsInf(r, 1) {
		return 0
	}
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
	if s.markAt.IsZero() {
		// The evidence span starts at the first admission, with the
		// server's bucket assumed full.
		s.markAt, s.credit = now, 1
	}
	s.checkpoint(c, now)
	s.spent += n
	if s.avgTake == 0 {
		s.avgTake = n
	} else {
		s.avgTake += (n - s.avgTake) / takeAvgN
	}
	s.measured = s.recent(c, now) + n
	s.measuredAt = now
	if s.firstAt.IsZero() {
		s.firstAt = now
	}
	if s.slowStart(c) {
		if s.slow == 0 {
			s.base = math.Max(slowStartBurst*n, minRate)
			s.slow = s.base
			s.level = s.base
		} else {
			s.slow = math.Min(s.slow+slowStartGain*n, math.Max(s.base, slowStartCap*s.measured))
		}
	}
	if s.limited {
		s.level -= n
	}
}

// give returns n units (a refund; negative n charges more).
func (s *axis) give(c *pacing.AxisConfig, now time.Time, n float64) {
	s.giveSplit(c, now, n, n, time.Time{}, 0)
}

// giveSplit returns n units to the bucket and counts ev of them as given
// back in the evidence span. over of them is what a call admitted at
// admitted reserved beyond the service's charge: when the bucket was full
// since then, the cap took it on both sides, and only n - over comes back.
func (s *axis) giveSplit(c *pacing.AxisConfig, now time.Time, n, ev float64, admitted time.Time, over float64) {
	if over > 0 && !admitted.IsZero() && s.clipped.After(admitted) {
		n -= math.Min(over, math.Max(n, 0))
	}
	if !s.markAt.IsZero() {
		s.checkpoint(c, now)
		s.spent -= ev
	}
	if !s.limited {
		return
	}
	s.level += n
	if r := s.rate(c, now); s.level > r {
		s.level = r
		s.clipped = now
	}
	if n < 0 {
		s.measured = s.recent(c, now) - n
		s.measuredAt = now
	}
}

// throttled lowers the rate and empties the bucket, with a debt of
// throttlePause Cooldowns' refill: the server's bucket is empty when it
// throttles. Throttles within Cooldown of the last decrease
// only empty the bucket, so that one burst of rejected in-flight requests
// counts as one congestion signal. It reports whether the rate was
// decreased.
//
// With at least evidenceSpan windows of evidence, the new ceiling is the
// units charged over the span divided by its length (never above the
// rate that was throttled), and the rate holds just under it; otherwise
// the rate is multiplied by Beta, as in the SDK's adaptive mode.
func (s *axis) throttled(c *pacing.AxisConfig, now time.Time) bool {
	decrease := s.decreasedAt.IsZero() || now.Sub(s.decreasedAt) >= c.Cooldown
	if decrease {
		cur := math.Inf(1)
		if s.limited {
			cur = s.rate(c, now)
		}
		if math.IsInf(cur, 1) {
			cur = math.Max(s.rateEstimate(c, now), minRate)
		}
		s.limited = true
		var elapsed float64
		if !s.markAt.IsZero() {
			elapsed = float64(now.Sub(s.markAt)) / float64(c.Window)
		}
		span := s.credit + elapsed
		est := s.estimate(c, now, span)
		slow := s.slowStart(c)
		// The evidence is used when it spans enough time and asks for a
		// decrease. Out of slow start, only a clear decrease (see evidenceBelow;
		// any decrease while probing) of at most 1-Beta (a larger one is more
		// likely a stale or short span than a real collapse), or of any depth
		// over a span of deepSpan windows or more (a probe that ran far past the
		// estimate while the server spent the slack it had saved: a Beta step
		// would still be above the ceiling); otherwise Beta takes a first step.
		// In slow start there was no ceiling before: any decrease the evidence
		// asks for is used.
		deep := est < c.Beta*cur
		// held: the rate was not probing when the throttle came (a
		// configured quota never lowered, or the hold after a decrease).
		// Only then is an estimate close to the throttled rate a sign of a
		// ceiling that held and dropped (evidenceBelow); a probe that just
		// passed the ceiling measures it.
		held := s.decreasedAt.IsZero() || float64(now.Sub(s.decreasedAt)) < s.hold*float64(c.Window)
		if span >= evidenceSpan && est < cur && (slow || ((!held || est <= evidenceBelow*cur) && (!deep || elapsed >= deepSpan))) {
			est = math.Max(est, minRate)
			switch {
			case s.gap == 0 || s.wMax == 0 || math.Abs(est-s.wMax) > confirmTolerance*s.wMax:
				// The ceiling moved: probe again soon, or, under a
				// configured quota (which the evidence just showed is not
				// all there is), after minHoldTold.
				s.gap = minHold
				if c.Quota > 0 {
					s.gap = minHoldTold
				}
			default:
				s.gap = 2 * s.gap // the probe found nothing new
				if c.Quota > 0 {
					s.gap = math.Min(s.gap, maxHold)
				} else {
					s.gap = math.Min(s.gap, maxHoldLearned)
				}
			}
			s.wMax = est
			s.base = math.Max(est*(1-holdMargin), minRate)
			s.hold = s.gap
			if elapsed < evidenceSpan || deep {
				// Mostly the assumed full bucket: an estimate, not a
				// measurement; or a deep cut, where the ceiling may have
				// risen during the span. Regrow at once.
				s.hold = 0
			}
		} else {
			// Fast convergence (as in TCP CUBIC): a throttle below the
			// rate of the previous one means the available quota shrank,
			// so aim lower than the rate that throttled.
			if s.wMax > 0 && cur < s.wMax {
				s.wMax = cur * (1 + c.Beta) / 2
			} else {
				s.wMax = cur
			}
			s.base = math.Max(c.Beta*cur, minRate)
			if !slow && s.credit == 0 && elapsed >= shortSpan && elapsed < evidenceSpan && s.spent > 0 {
				// A short span since the previous decrease: too short to
				// set the ceiling, but the server's bucket was empty at
				// both ends, so what it admitted over the span is a lower
				// bound of its rate that the Beta step need not go under.
				if lo := s.spent / elapsed * (1 - holdMargin); lo > s.base {
					s.base = math.Min(lo, s.wMax)
				}
				// The span's estimate, too noisy to hold at (a request
				// more or less is a large part of it), is where the
				// regrowth flattens: the next throttle then comes after a
				// longer span, whose estimate is used.
				s.wMax = math.Max(s.base, math.Min(s.wMax, est))
			}
			s.hold = 0
		}
		s.decreasedAt = now
		s.last = now
		s.markAt, s.spent, s.credit = now, 0, 0
		s.ckAt, s.ckSpent = [numCheckpoints]time.Time{}, [numCheckpoints]float64{}
	}
	// The server's bucket is empty: it gets half a Cooldown to refill
	// before the next admission, so that the request after a throttle (at
	// a rate that may still be above the server's) does not meet an empty
	// bucket too. A retry of the throttled request then still falls in the
	// Cooldown: one signal.
	if pause := -s.rate(c, now) * throttlePause * float64(c.Cooldown) / float64(c.Window); s.level > pause {
		s.level = pause
	}
	return decrease
}

// checkpoint records (now, spent) as the newest checkpoint when the newest
// is a checkpointEvery of the window old, or missing.
func (s *axis) checkpoint(c *pacing.AxisConfig, now time.Time) {
	if !s.ckAt[0].IsZero() && float64(now.Sub(s.ckAt[0])) < checkpointEvery*float64(c.Window) {
		return
	}
	copy(s.ckAt[1:], s.ckAt[:numCheckpoints-1])
	copy(s.ckSpent[1:], s.ckSpent[:numCheckpoints-1])
	s.ckAt[0], s.ckSpent[0] = now, s.spent
}

// estimate returns the ceiling the evidence shows at a throttle: the
// largest of the lower bounds of the server's rate over the evidence span
// (span windows, counting the credit) and over its suffixes from each
// checkpoint. The server's bucket is empty at the throttle and held at
// most one window's worth at the start of a suffix d windows long, so the
// units charged over it are at most (1 + d) windows of the real rate. The
// whole span misses the refill the server wasted while its bucket was full
// (slow start below the ceiling, a quiet spell); a suffix that starts
// about when the bucket began to drain does not.
func (s *axis) estimate(c *pacing.AxisConfig, now time.Time, span float64) float64 {
	// At the throttle the server's bucket held less than the refused
	// request, not nothing: about half an admission on average, which the
	// bounds add back (over a span of two windows at a quota of ten
	// requests, a bound without it is about 5 % low).
	left := s.avgTake / 2
	est := (s.spent + left) / span
	for i := range numCheckpoints {
		if s.ckAt[i].IsZero() || s.ckAt[i].Before(s.markAt) {
			break
		}
		d := float64(now.Sub(s.ckAt[i])) / float64(c.Window)
		if e := (s.spent - s.ckSpent[i] + left) / (1 + d); e > est {
			est = e
		}
	}
	return est
}
