package bedrocksim

import "time"

// Trigger says which calls a fault hits. A call is hit if any of the three
// rules fires. The zero Trigger never fires.
type Trigger struct {
	// Next is the number of upcoming calls that are hit, counted from the
	// moment the faults were set.
	Next int
	// Until hits every call that arrives before this instant of the
	// accounting clock (the time package's, so testing/synctest's fake
	// clock inside a bubble).
	Until time.Time
	// Rate is the fraction of the remaining calls that are hit, chosen
	// deterministically from the seed and the call's sequence
	// number.
	Rate float64
}

// Faults is the set of injected failures. The zero value injects none. Set
// it with [WithFaults] or at run time with [Server.SetFaults]. Faults
// apply to every operation except where noted, and are checked after the
// request is validated, in this order: Reset, SlowHeaders, ModelNotReady,
// ServiceUnavailable, then the quotas, then StreamThrottle.
type Faults struct {
	// ServiceUnavailable answers 503 ServiceUnavailableException.
	ServiceUnavailable Trigger
	// ModelNotReady answers 429 ModelNotReadyException.
	ModelNotReady Trigger
	// StreamThrottle sends a throttlingException frame in a stream
	// (ConverseStream, InvokeModelWithResponseStream only) after
	// StreamThrottleAfter events; 0 means as the first frame.
	StreamThrottle      Trigger
	StreamThrottleAfter int
	// Reset closes the connection with a TCP reset instead of answering.
	Reset Trigger
	// SlowHeaders delays the response headers by SlowHeadersDelay.
	SlowHeaders      Trigger
	SlowHeadersDelay time.Duration
	// QuotaDropFraction, if in (0, 1], scales every quota to that fraction
	// from QuotaDropAt (accounting clock) on: another tenant has arrived.
	QuotaDropFraction float64
	QuotaDropAt       time.Time
}

// fault kinds, used to pick independent deterministic draws per kind.
const (
	faultServiceUnavailable uint64 = iota + 1
	faultModelNotReady
	faultStreamThrottle
	faultReset
	faultSlowHeaders
)

// faultState is Faults plus the remaining Next counts. Guarded by Server.mu.
type faultState struct {
	f    Faults
	next [6]int
}

func newFaultState(f Faults) faultState {
	st := faultState{f: f}
	st.next[faultServiceUnavailable] = f.ServiceUnavailable.Next
	st.next[faultModelNotReady] = f.ModelNotReady.Next
	st.next[faultStreamThrottle] = f.StreamThrottle.Next
	st.next[faultReset] = f.Reset.Next
	st.next[faultSlowHeaders] = f.SlowHeaders.Next
	return st
}

func (st *faultState) trigger(kind uint64) Trigger {
	switch kind {
	case faultServiceUnavailable:
		return st.f.ServiceUnavailable
	case faultModelNotReady:
		return st.f.ModelNotReady
	case faultStreamThrottle:
		return st.f.StreamThrottle
	case faultReset:
		return st.f.Reset
	case faultSlowHeaders:
		return st.f.SlowHeaders
	}
	return Trigger{}
}

// hit reports whether call seq at now is hit by fault kind, consuming one
// Next if that is the rule that fires.
func (st *faultState) hit(kind uint64, seed int64, seq uint64, now time.Time) bool {
	if st.next[kind] > 0 {
		st.next[kind]--
		return true
	}
	t := st.trigger(kind)
	if now.Before(t.Until) {
		return true
	}
	return t.Rate > 0 && unitFloat(mix(uint64(seed)^kind<<56, seq)) < t.Rate
}

// quotaScale is the quota fraction in force at now.
func (st *faultState) quotaScale(now time.Time) float64 {
	f := st.f.QuotaDropFraction
	if f > 0 && f <= 1 && !now.Before(st.f.QuotaDropAt) {
		return f
	}
	return 1
}

// unitFloat maps a hash to [0, 1).
func unitFloat(h uint64) float64 { return float64(h>>11) / (1 << 53) }
