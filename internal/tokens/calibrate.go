package tokens

import (
	"math"
	"slices"
	"sync"
)

// Calibration bounds. Each sample's ratio is clamped to
// [minRatio, maxRatio] before it enters the window, and so is the result.
const (
	minRatio = 0.25
	maxRatio = 4.0
	// warmupSamples is how many observations a family needs before its
	// ratio is trusted without the safety margin.
	warmupSamples = 3
	// warmupMargin multiplies the estimate while a family is warming up.
	// cl100k counts English prose at about 0.20 tokens per byte; Claude's
	// tokenizer, and the simulator's rule (0.25), count more, and the first
	// window's burst is admitted before any usage has come back: an
	// undercount there is a throttle. 1.3 covers the gap measured against
	// the simulator (loadtest quota-drop: a throttle at 0.5 s with 1.15).
	warmupMargin = 1.3
	// warmupReserveMargin multiplies a warming family's estimate for
	// reservations only. The first window's burst is charged before any
	// usage comes back, and a tokenizer that counts a third more than the
	// estimate (loadtest -sim-token-scale 1.33) then overdraws it: 1.3
	// was a throttle in the first two seconds of every such run with the
	// quota told. Reservations are refunded at settlement, so the larger
	// margin costs only part of the first burst.
	warmupReserveMargin = 1.6
	// minCalibrationTokens: smaller prompts are dominated by fixed per-request
	// overheads and are not used as calibration samples.
	minCalibrationTokens = 16
)

// calibrator keeps, per family, a ring of the last n log(actual/estimate)
// ratios; the ratio in force is exp(median).
type calibrator struct {
	mu     sync.Mutex
	window int
	fam    map[Family]*ring
}

type ring struct {
	logs   []float64 // ring buffer, len <= window
	next   int
	total  int     // samples ever seen
	ratio  float64 // exp(median(logs)), cached
	upper  float64 // exp(reserveQuantile of logs), cached, >= ratio
	sorted []float64
}

func newCalibrator(window int) *calibrator {
	return &calibrator{window: window, fam: make(map[Family]*ring)}
}

// observe adds one sample and returns the new ratio and sample count.
func (c *calibrator) observe(f Family, estimated, actual int64) (float64, int) {
	r := float64(actual) / float64(estimated)
	l := math.Log(min(max(r, minRatio), maxRatio))
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.fam[f]
	if g == nil {
		g = &ring{logs: make([]float64, 0, c.window), sorted: make([]float64, 0, c.window)}
		c.fam[f] = g
	}
	if len(g.logs) < c.window {
		g.logs = append(g.logs, l)
	} else {
		g.logs[g.next] = l
	}
	g.next = (g.next + 1) % c.window
	g.total++
	g.sorted = append(g.sorted[:0], g.logs...)
	slices.Sort(g.sorted)
	n := len(g.sorted)
	med := g.sorted[n/2]
	if n%2 == 0 {
		med = (g.sorted[n/2-1] + g.sorted[n/2]) / 2
	}
	g.ratio = min(max(math.Exp(med), minRatio), maxRatio)
	g.upper = max(g.ratio, min(max(math.Exp(g.sorted[min(n-1, int(reserveQuantile*float64(n)))]), minRatio), maxRatio))
	return g.ratio, g.total
}

// reserveQuantile is the quantile of the calibration ratios that reserves
// use: the median estimates input tokens without bias, but half of the
// requests are then counted low (by about 2 % for long prompts against the
// simulator), and Bedrock takes the real count from the quota at
// admission. Near an exhausted bucket, several such requests in flight
// together are a throttle; reserving at the 90th percentile covers them,
// and the settlement refunds the difference.
const reserveQuantile = 0.9

// reserveMargin is added on top of the quantile for reservations: with a
// told quota the guard's bucket runs to exactly what the server's holds,
// so a reservation one token short of Bedrock's count is a throttle
// (measured: a 6,003-token prompt reserved at 6,000 in one loadtest
// spillover run in three). Two percent of the input, refunded at
// settlement, ties up well under one percent of a window's quota.
const reserveMargin = 0.02

// upperFactor is what a raw estimate is multiplied by for a reservation:
// the factor at reserveQuantile (see [calibrator.factor] for warm-up).
func (c *calibrator) upperFactor(f Family) float64 {
	_, up, _ := c.factors(f)
	return up
}

// factors returns, under one lock, what a raw estimate is multiplied by
// for the estimate ([calibrator.factor]) and for a reservation
// ([calibrator.upperFactor]), and whether f is still warming up.
func (c *calibrator) factors(f Family) (est, reserve float64, warming bool) {
	c.mu.Lock()
	ratio, up, n := 1.0, 0.0, 0
	if g := c.fam[f]; g != nil {
		ratio, up, n = g.ratio, g.upper, g.total
	}
	c.mu.Unlock()
	if n < warmupSamples {
		return max(ratio, 1) * warmupMargin, max(ratio, 1) * warmupReserveMargin, true
	}
	return ratio, max(ratio, up) * (1 + reserveMargin), false
}

// get returns the ratio in force for f and the number of samples seen.
func (c *calibrator) get(f Family) (float64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.fam[f]; g != nil {
		return g.ratio, g.total
	}
	return 1, 0
}

// factor is what a raw estimate is multiplied by.
func (c *calibrator) factor(f Family) float64 {
	ratio, n := c.get(f)
	if n < warmupSamples {
		return max(ratio, 1) * warmupMargin
	}
	return ratio
}
