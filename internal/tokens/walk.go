package tokens

import (
	"hash/maphash"
	"math"
	"unicode/utf8"
)

// walk accumulates the token count of one request under a tokenizer budget.
type walk struct {
	e        *Estimator
	fam      Family
	budget   int // bytes the tokenizer may still be given
	tokens   int
	textB    int // bytes of text seen, for the warm-up floor
	fallback bool
	fp       uint64 // order-sensitive fingerprint of everything counted
}

func (w *walk) setModel(id string) {
	w.fam = FamilyOf(id)
	w.fold(maphash.String(w.e.seed, id))
	w.tokens += requestOverhead
}

// fold mixes h into the request fingerprint (FNV-1a style, on words).
func (w *walk) fold(h uint64) {
	w.fp = (w.fp ^ h) * 1099511628211
}

// tag folds a small structural marker (block kind, role) into the
// fingerprint, so that the same texts in a different structure differ.
func (w *walk) tag(t uint64) { w.fold(t * 0x9e3779b97f4a7c15) }

// Cached counts are stored as n for exact counts and -(n+1) for estimates
// that were extrapolated from samples.
func (w *walk) text(s string) {
	if s == "" {
		return
	}
	e := w.e
	w.textB += len(s)
	h := maphash.String(e.seed, s)
	w.fold(h)
	if e.cache != nil {
		if v, ok := e.cache.get(h); ok {
			e.hits.Add(1)
			if v < 0 {
				v = -v - 1
				w.fallback = true
			}
			w.tokens += v
			return
		}
	}
	e.misses.Add(1)
	switch {
	case len(s) <= exactBlockBytes && len(s) <= w.budget:
		n := e.tok.CountTokens(s)
		w.budget -= len(s)
		e.tokenized.Add(int64(len(s)))
		w.tokens += n
		if e.cache != nil {
			e.cache.put(h, n)
		}
	case len(s) > exactBlockBytes && w.budget >= sampleCount*sampleBytes:
		n := w.sampled(s)
		w.tokens += n
		w.fallback = true
		if e.cache != nil {
			e.cache.put(h, -n-1)
		}
	default:
		// Over budget: estimate from bytes and do not cache, so that a
		// later call (this history is resent every turn) counts it exactly.
		w.tokens += HeuristicTokens(s)
		w.fallback = true
	}
}

// sampled extrapolates the count of a large text from sampleCount evenly
// spaced samples: the densest sample's tokens per byte times the length.
func (w *walk) sampled(s string) int {
	step := (len(s) - sampleBytes) / (sampleCount - 1)
	best := 0.0
	for i := range sampleCount {
		lo := i * step
		hi := lo + sampleBytes
		for lo > 0 && lo < len(s) && !utf8.RuneStart(s[lo]) {
			lo++
		}
		for hi < len(s) && !utf8.RuneStart(s[hi]) {
			hi--
		}
		if hi <= lo {
			continue
		}
		n := w.e.tok.CountTokens(s[lo:hi])
		w.budget -= hi - lo
		w.e.tokenized.Add(int64(hi - lo))
		best = max(best, float64(n)/float64(hi-lo))
	}
	return int(math.Ceil(best * float64(len(s))))
}

// bytesFP folds binary content (images, documents) into the fingerprint.
func (w *walk) bytesFP(b []byte) { w.fold(maphash.Bytes(w.e.seed, b)) }
