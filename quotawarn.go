package bedrockguard

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// unusedQuotaAfter is how long after the first call a configured quota that
// matched no call is reported (once).
const unusedQuotaAfter = 5 * time.Minute

// quotaWarnings warns once per model ID called without a quota of its own
// while per-model quotas are configured (a mistyped ID is silently never
// used), naming the closest configured ID; and once per configured quota
// that matched no call by unusedQuotaAfter after the first call.
type quotaWarnings struct {
	used    map[string]*atomic.Bool // configured model ID -> matched a call; read-only map
	warned  sync.Map                // model ID warned about -> struct{}
	nwarned atomic.Int32            // entries in warned, at most maxLoggedSources
	first   atomic.Int64            // the first call's time in Unix nanoseconds; 0 until then
	checked atomic.Bool
}

func newQuotaWarnings(configured map[string]limiter.Limits) *quotaWarnings {
	w := &quotaWarnings{used: make(map[string]*atomic.Bool, len(configured))}
	for id := range configured {
		w.used[id] = new(atomic.Bool)
	}
	return w
}

// noteQuotaUse records a call of modelID; configured says whether the model
// has a quota of its own, src where the quota it uses comes from.
func (g *Guard) noteQuotaUse(modelID string, configured bool, src string) {
	w := g.qwarn
	if w == nil || len(w.used) == 0 {
		return
	}
	now := g.now()
	if configured {
		if u := w.used[modelID]; u != nil && !u.Load() {
			u.Store(true)
		}
	} else {
		g.warnUnconfigured(modelID, src)
	}
	if w.checked.Load() {
		return
	}
	f := w.first.Load()
	if f == 0 {
		w.first.CompareAndSwap(0, now.UnixNano())
		return
	}
	since := now.Sub(time.Unix(0, f))
	if since < unusedQuotaAfter || !w.checked.CompareAndSwap(false, true) {
		return
	}
	for id, u := range w.used {
		if u.Load() {
			continue
		}
		g.logger().Warn("bedrockguard: a configured quota matched no call",
			slog.String("gen_ai.request.model", id),
			slog.Duration("since_first_call", since),
			slog.String("hint", "calls use the model ID exactly as configured (an inference profile prefix such as us. and a :0 suffix count)"))
	}
}

// warnUnconfigured logs once per model ID (up to maxLoggedSources) that it
// is called without a quota of its own, naming the closest configured ID.
func (g *Guard) warnUnconfigured(modelID, src string) {
	w := g.qwarn
	if _, ok := w.warned.Load(modelID); ok {
		return
	}
	if w.nwarned.Load() >= maxLoggedSources {
		return
	}
	if _, loaded := w.warned.LoadOrStore(modelID, struct{}{}); loaded {
		return
	}
	w.nwarned.Add(1)
	closest, dist := "", -1
	for id := range w.used {
		d := editDistance(modelID, id)
		if dist < 0 || d < dist || d == dist && id < closest {
			closest, dist = id, d
		}
	}
	g.logger().Warn("bedrockguard: model called without a configured quota",
		slog.String("gen_ai.request.model", modelID),
		slog.String("closest_configured", closest),
		slog.Int("edit_distance", dist),
		slog.String("aws.bedrock.quota.source", src))
}

// now is the guard's clock: the pacing clock when one is set.
func (g *Guard) now() time.Time {
	if c := g.s.Pacing.Clock; c != nil {
		return c.Now()
	}
	return time.Now()
}

// maxEditLen bounds the edit distance's cost: model IDs can come from user
// input. Longer IDs are compared on their first maxEditLen bytes.
const maxEditLen = 256

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	a, b = a[:min(len(a), maxEditLen)], b[:min(len(b), maxEditLen)]
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
