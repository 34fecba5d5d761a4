package storetest

import (
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/storekit"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// runAdmit runs the fleet-queue cases against stores that implement
// [pacing.FleetStore]; a store that does not is queued locally by the
// Limiter and has no such cases.
func runAdmit(t *testing.T, newStore newStoreFunc) {
	if _, ok := newStore(storekit.NewClock().Now).(pacing.FleetStore); !ok {
		return
	}
	t.Run("AdmitFIFO", func(t *testing.T) { testAdmitFIFO(t, newStore) })
	t.Run("AdmitBoost", func(t *testing.T) { testAdmitBoost(t, newStore) })
	t.Run("AdmitCancel", func(t *testing.T) { testAdmitCancel(t, newStore) })
	t.Run("AdmitLeaseExpires", func(t *testing.T) { testAdmitLease(t, newStore) })
	t.Run("AdmitMaxWait", func(t *testing.T) { testAdmitMaxWait(t, newStore) })
	t.Run("AdmitHeartbeats", func(t *testing.T) { testAdmitHeartbeats(t, newStore) })
	t.Run("AdmitEpochRefunds", func(t *testing.T) { testAdmitEpoch(t, newStore) })
}

// admitKC is 600 tokens (10 per second) and 1,000 requests a minute,
// starting full.
func admitKC(t *testing.T) pacing.KeyConfig {
	return storekit.KeyConfig(t, limiter.Config{InitialFill: 1}, limiter.Limits{RequestsPerWindow: 1000, TokensPerWindow: 600, Window: time.Minute})
}

// admit calls Admit on key "k" and fails the test on an error.
func (h *harness) admit(kc pacing.KeyConfig, req pacing.AdmitRequest) pacing.AdmitResult {
	h.t.Helper()
	res, err := h.s.(pacing.FleetStore).Admit(h.ctx, "k", kc, req)
	if err != nil {
		h.t.Fatalf("Admit(%+v): %v", req, err)
	}
	return res
}

// ticket is a request for a new ticket of tokens.
func ticket(name string, tokens float64) pacing.AdmitRequest {
	return pacing.AdmitRequest{Ticket: name, Amount: pacing.Amount{Requests: 1, Tokens: tokens}, Lease: time.Minute}
}

// expect fails the test unless res is admitted (ok) or waits wait.
func (h *harness) expect(step string, res pacing.AdmitResult, ok bool, wait time.Duration) {
	h.t.Helper()
	if res.OK != ok || !ok && !storekit.NearWait(res.Wait, wait) {
		h.t.Fatalf("%s: got %+v, want ok=%v wait=%v", step, res, ok, wait)
	}
}

// again asks about a queued ticket: the same request at its order.
func again(req pacing.AdmitRequest, res pacing.AdmitResult) pacing.AdmitRequest {
	req.Order = res.Order
	return req
}

// testAdmitFIFO: tickets are admitted in arrival order, and the amounts of
// the tickets ahead stay in the bucket for them, so a large ticket at the
// head is not starved by smaller ones behind it.
func testAdmitFIFO(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := admitKC(t)
	h.expect("a full bucket admits at once", h.admit(kc, ticket("a", 500)), true, 0)
	b := ticket("b", 300)
	rb := h.admit(kc, b)
	h.expect("100 left: 300 waits for 200 more at 10/s", rb, false, 20*time.Second)
	h.clk.Add(time.Microsecond) // a later arrival
	c := ticket("c", 50)
	rc := h.admit(kc, c)
	h.expect("50 would fit, but the 300 ahead holds the bucket", rc, false, 25*time.Second)
	if rc.Order <= rb.Order {
		t.Fatalf("later ticket ordered %d, not after %d", rc.Order, rb.Order)
	}
	h.clk.Add(10 * time.Second)
	h.expect("c asked again before b: still behind it", h.admit(kc, again(c, rc)), false, 15*time.Second)
	h.clk.Add(10 * time.Second)
	h.expect("b at its time", h.admit(kc, again(b, rb)), true, 0)
	h.expect("c: b took the bucket", h.admit(kc, again(c, rc)), false, 5*time.Second)
	h.clk.Add(5 * time.Second)
	h.expect("c at its time", h.admit(kc, again(c, rc)), true, 0)
}

// testAdmitBoost: a boosted ticket is queued as if it had arrived Boost
// earlier, ahead of tickets already waiting.
func testAdmitBoost(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := admitKC(t)
	h.expect("drain", h.admit(kc, ticket("a", 600)), true, 0)
	b := ticket("batch", 60)
	rb := h.admit(kc, b)
	h.expect("batch", rb, false, 6*time.Second)
	i := ticket("interactive", 60)
	i.Boost = time.Minute
	ri := h.admit(kc, i)
	h.expect("interactive goes first", ri, false, 6*time.Second)
	h.expect("batch is now behind it", h.admit(kc, again(b, rb)), false, 12*time.Second)
	h.clk.Add(6 * time.Second)
	h.expect("batch waits for interactive", h.admit(kc, again(b, rb)), false, 6*time.Second)
	h.expect("interactive", h.admit(kc, again(i, ri)), true, 0)
	h.clk.Add(6 * time.Second)
	h.expect("batch", h.admit(kc, again(b, rb)), true, 0)
}

// testAdmitCancel: a cancelled ticket leaves the queue and stops holding
// the bucket for itself.
func testAdmitCancel(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := admitKC(t)
	h.expect("drain", h.admit(kc, ticket("a", 600)), true, 0)
	b := ticket("b", 60)
	rb := h.admit(kc, b)
	h.clk.Add(time.Microsecond)
	c := ticket("c", 60)
	rc := h.admit(kc, c)
	h.expect("c behind b", rc, false, 12*time.Second)
	cb := again(b, rb)
	cb.Cancel = true
	if res := h.admit(kc, cb); res.OK {
		t.Fatalf("a cancel admitted the ticket: %+v", res)
	}
	h.expect("b gone: c is at the head", h.admit(kc, again(c, rc)), false, 6*time.Second)
}

// testAdmitLease: a ticket not asked about again within its lease after
// its expected admission (its process died) leaves the queue; asked about
// again later with its order, it is queued at its old place.
func testAdmitLease(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := admitKC(t)
	h.expect("drain", h.admit(kc, ticket("a", 600)), true, 0)
	b := ticket("b", 60)
	b.Lease = time.Second
	rb := h.admit(kc, b)
	h.expect("b", rb, false, 6*time.Second)
	h.clk.Add(time.Microsecond)
	c := ticket("c", 60)
	rc := h.admit(kc, c)
	h.expect("c behind b", rc, false, 12*time.Second)
	h.clk.Add(6*time.Second + 500*time.Millisecond)
	h.expect("b's lease still runs: c waits", h.admit(kc, again(c, rc)), false, 5500*time.Millisecond)
	h.clk.Add(time.Second)
	h.expect("b's lease ran out: c takes the bucket", h.admit(kc, again(c, rc)), true, 0)
	h.expect("b comes back at its old place, behind nobody", h.admit(kc, again(b, rb)), false, 4500*time.Millisecond)
	h.expect("d queues behind b's old place", h.admit(kc, ticket("d", 10)), false, 5500*time.Millisecond)
}

// testAdmitMaxWait: a new ticket whose wait is longer than MaxWait is not
// queued (its deadline would pass first) and holds nothing for itself.
func testAdmitMaxWait(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := admitKC(t)
	h.expect("drain", h.admit(kc, ticket("a", 600)), true, 0)
	b := ticket("b", 60)
	b.MaxWait = time.Second
	h.expect("b would wait past its deadline", h.admit(kc, b), false, 6*time.Second)
	h.clk.Add(time.Microsecond)
	h.expect("c is not behind b", h.admit(kc, ticket("c", 60)), false, 6*time.Second)
}

// testAdmitHeartbeats: every call with a Process counts it live for Live;
// Processes is the number of live processes of the key.
func testAdmitHeartbeats(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := admitKC(t)
	beat := func(p string) int {
		t.Helper()
		return h.admit(kc, pacing.AdmitRequest{Process: p, Live: 10 * time.Second}).Processes
	}
	if n := beat("p1"); n != 1 {
		t.Fatalf("one process: %d", n)
	}
	h.clk.Add(time.Second)
	if n := beat("p2"); n != 2 {
		t.Fatalf("two processes: %d", n)
	}
	if n := beat("p1"); n != 2 {
		t.Fatalf("a second call of p1: %d", n)
	}
	h.clk.Add(10*time.Second + time.Millisecond)
	if n := beat("p1"); n != 1 {
		t.Fatalf("p2 silent for longer than Live: %d processes, want 1", n)
	}
}

// testAdmitEpoch: the key has one epoch while the store keeps it; a refund
// applies only to its epoch (or, with no epoch, in any case: a charge for
// tokens admitted elsewhere).
func testAdmitEpoch(t *testing.T, newStore newStoreFunc) {
	h := newHarness(t, newStore)
	kc := admitKC(t)
	r := h.admit(kc, ticket("a", 600))
	if !r.OK || r.Epoch == "" {
		t.Fatalf("first admission: %+v", r)
	}
	level := func() float64 { return h.state("k", kc).Level[pacing.Tokens] }
	refund := func(epoch string, tokens float64) pacing.AdmitResult {
		t.Helper()
		res := h.admit(kc, pacing.AdmitRequest{Refund: pacing.Amount{Tokens: tokens}, RefundEpoch: epoch})
		if res.Epoch != r.Epoch {
			t.Fatalf("epoch changed from %q to %q", r.Epoch, res.Epoch)
		}
		return res
	}
	refund("another-"+r.Epoch, 100)
	if l := level(); !storekit.Near(l, 0) {
		t.Fatalf("a refund for another epoch was applied: level %v", l)
	}
	refund(r.Epoch, 100)
	if l := level(); !storekit.Near(l, 100) {
		t.Fatalf("a refund for the key's epoch: level %v, want 100", l)
	}
	refund("", -150)
	if l := level(); !storekit.Near(l, -50) {
		t.Fatalf("a charge with no epoch: level %v, want -50", l)
	}
	h.expect("the charge delays the next ticket", h.admit(kc, ticket("b", 50)), false, 10*time.Second)
}
