package limiter

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"strconv"
	"sync"
	"time"

	"github.com/bedrockguard/bedrockguard/pacing"
)

// Fleet mode: with a [pacing.FleetStore] every waiter of every process
// queues in the store, in one fleet-wide order (arrival time minus the
// priority boost). A waiter asks the store once on arrival, sleeps locally
// for the wait it gets back (computed with the amounts of every ticket
// ahead of it still in the buckets), then asks again: about two store calls
// per admission, no polling, and no lock held across a store call.
// Settlements are refunded to the store state (epoch) that charged them,
// carried on the next call of the key or flushed shortly after.
//
// When the store fails, the process paces locally at its share of the
// quota: the quota divided by the live processes last reported by the
// store, in a fresh local bucket that starts empty (the fleet has just
// spent the shared one). When the store answers again, the process rejoins
// it and charges it with what it admitted locally over the last window, so
// that a store that restarted empty does not admit that window twice.

// refundDelay is how long a settlement refund waits for a store call of
// its key to carry it before it is sent on its own.
const refundDelay = 100 * time.Millisecond

// retryDelay is how often a pending refund is retried while the store is down.
const retryDelay = time.Second

// fleetKey is this process's view of one key in a fleet store.
type fleetKey struct {
	key string

	mu        sync.Mutex
	cfg       pacing.KeyConfig
	epoch     string                   // the store's state of the key, last seen
	processes int                      // live processes, last reported; 0 if never
	refunds   map[string]pacing.Amount // pending, by the epoch that charged ("" charges any)
	armed     bool                     // a flush is scheduled
	degraded  bool                     // the store failed; pacing locally
	outage    int                      // outages so far: names the local bucket
	local     []localAdmission         // admitted locally in the last window
	tenants   tenantTable              // this process's tenants of the key
}

type localAdmission struct {
	at  time.Time
	amt pacing.Amount
}

func newProcessID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (l *Limiter) fleetKey(key string) *fleetKey {
	if v, ok := l.fleets.Load(key); ok {
		return v.(*fleetKey)
	}
	v, _ := l.fleets.LoadOrStore(key, &fleetKey{key: key, refunds: map[string]pacing.Amount{}})
	return v.(*fleetKey)
}

// window is the longer window of kc.
func window(kc pacing.KeyConfig) time.Duration { return max(kc.Requests.Window, kc.Tokens.Window) }

// lease is how long past its expected admission a ticket of a dead process
// keeps its place: a quarter window, between 0.5 s and 5 s.
func lease(kc pacing.KeyConfig) time.Duration {
	return min(max(window(kc)/4, 500*time.Millisecond), 5*time.Second)
}

func (l *Limiter) acquireFleet(ctx context.Context, key string, kc pacing.KeyConfig, amt pacing.Amount, pri Priority, tenant string) (*Ticket, error) {
	fk := l.fleetKey(key)
	start := l.cfg.Clock.Now()
	req := pacing.AdmitRequest{
		Ticket: l.proc + "." + strconv.FormatUint(l.seq.Add(1), 36),
		Amount: amt,
		Boost:  time.Duration(l.priorityBoost(pri, kc)),
		Lease:  lease(kc),
	}
	// Tenants: this process's start tag of the tenant (tenant.go) moves the
	// ticket back by how far the tag is ahead of now; the store orders the
	// fleet's tickets by that place.
	fk.mu.Lock()
	if tenant != "" || fk.tenants.used() {
		tag, ts := fk.tenants.tag(start, tenant, l.tenantPolicy(tenant).Weight, pri, amt.Tokens, kc.Tokens.Quota, kc.Tokens.Window)
		req.Boost -= tag.Sub(start)
		ts.waiting++
		defer func() {
			fk.mu.Lock()
			ts.waiting--
			fk.mu.Unlock()
		}()
	}
	fk.mu.Unlock()
	dl, hasDeadline := ctx.Deadline()
	if hasDeadline {
		req.MaxWait = max(dl.Sub(start), 1)
	}
	for first := true; ; first = false {
		res, err := l.admit(ctx, fk, key, kc, req)
		if err != nil {
			// The store is down: its queue entry (if any) expires with its lease.
			return l.acquireDegraded(ctx, fk, key, kc, amt, pri, start, tenant)
		}
		if res.OK {
			if ctx.Err() != nil {
				l.refund(fk, res.Epoch, amt)
				return nil, context.Cause(ctx)
			}
			l.outstanding.Add(1)
			return &Ticket{l: l, fk: fk, epoch: res.Epoch, amt: amt, Waited: l.cfg.Clock.Now().Sub(start)}, nil
		}
		if first && hasDeadline && start.Add(res.Wait).After(dl) {
			return nil, &DeadlineError{Key: key, Wait: res.Wait, Remaining: dl.Sub(start)}
		}
		req.Order, req.MaxWait = res.Order, 0
		if !l.sleep(ctx, res.Wait) {
			c := req
			c.Cancel = true
			go l.admit(context.Background(), fk, key, kc, c) //nolint:errcheck // the lease ends it anyway
			return nil, context.Cause(ctx)
		}
	}
}

// sleep waits d on the limiter's clock; false if ctx ended first.
func (l *Limiter) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		d = time.Millisecond
	}
	ch := make(chan struct{})
	t := l.cfg.Clock.AfterFunc(d, func() { close(ch) })
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

// admit makes one store call for fk, carrying its pending refund and the
// heartbeat, and keeps fk's view of the store up to date.
func (l *Limiter) admit(ctx context.Context, fk *fleetKey, key string, kc pacing.KeyConfig, req pacing.AdmitRequest) (pacing.AdmitResult, error) {
	fk.mu.Lock()
	fk.cfg = kc
	epoch, refund := fk.takeRefund()
	fk.mu.Unlock()
	req.Refund, req.RefundEpoch = refund, epoch
	req.Process, req.Live = l.proc, 2*window(kc)
	sctx, cancel := l.storeCtx(ctx)
	res, err := l.fleet.Admit(sctx, key, kc, req)
	cancel()
	now := l.cfg.Clock.Now()
	fk.mu.Lock()
	defer fk.mu.Unlock()
	if err != nil {
		l.storeErrors.Add(1)
		fk.addRefund(epoch, refund)
		if !fk.degraded {
			fk.degraded = true
			fk.outage++
		}
		return res, err
	}
	if res.Epoch != fk.epoch {
		// The store lost the key: what it charged before is gone with it.
		for e := range fk.refunds {
			if e != "" && e != res.Epoch {
				delete(fk.refunds, e)
			}
		}
		fk.epoch = res.Epoch
	}
	fk.processes = res.Processes
	if fk.degraded {
		// Rejoin: charge the store with what this process admitted on its own
		// over the last window.
		fk.degraded = false
		var c pacing.Amount
		for _, a := range fk.local {
			if now.Sub(a.at) < window(kc) {
				c.Requests -= a.amt.Requests
				c.Tokens -= a.amt.Tokens
			}
		}
		fk.local = nil
		fk.addRefund("", c)
	}
	l.armFlush(fk)
	return res, nil
}

// takeRefund removes and returns one pending refund: a charge for local
// admissions first, then the refund of the current epoch. Called with fk.mu held.
func (fk *fleetKey) takeRefund() (string, pacing.Amount) {
	for _, e := range []string{"", fk.epoch} {
		if a, ok := fk.refunds[e]; ok {
			delete(fk.refunds, e)
			return e, a
		}
	}
	return "", pacing.Amount{}
}

// addRefund adds a to the refund pending for epoch. Called with fk.mu held.
func (fk *fleetKey) addRefund(epoch string, a pacing.Amount) {
	if a.Requests == 0 && a.Tokens == 0 {
		return
	}
	p := fk.refunds[epoch]
	p.Requests += a.Requests
	p.Tokens += a.Tokens
	fk.refunds[epoch] = p
}

// refund settles a fleet ticket: amt goes back to the epoch that charged it,
// with the next call of the key or a flush.
func (l *Limiter) refund(fk *fleetKey, epoch string, amt pacing.Amount) {
	if amt.Requests == 0 && amt.Tokens == 0 {
		return
	}
	fk.mu.Lock()
	defer fk.mu.Unlock()
	if epoch != fk.epoch {
		return // that state is gone
	}
	fk.addRefund(epoch, amt)
	l.armFlush(fk)
}

// armFlush schedules a flush of fk's pending refunds. Called with fk.mu held.
func (l *Limiter) armFlush(fk *fleetKey) {
	if fk.armed || len(fk.refunds) == 0 {
		return
	}
	fk.armed = true
	d := refundDelay
	if fk.degraded {
		d = retryDelay
	}
	l.cfg.Clock.AfterFunc(d, func() {
		fk.mu.Lock()
		fk.armed = false
		pending := len(fk.refunds) > 0
		kc := fk.cfg
		fk.mu.Unlock()
		if pending {
			if _, err := l.admit(context.Background(), fk, fk.key, kc, pacing.AdmitRequest{}); err != nil {
				fk.mu.Lock()
				l.armFlush(fk)
				fk.mu.Unlock()
			}
		}
	})
}

// shareConfig is this process's share of kc among n processes, starting empty.
func shareConfig(kc pacing.KeyConfig, n int) pacing.KeyConfig {
	n = max(n, 1)
	kc.Requests.Quota /= float64(n)
	kc.Tokens.Quota /= float64(n)
	kc.Requests.InitialFill, kc.Tokens.InitialFill = 0, 0
	return kc
}

// degradedKey returns the local key of fk's current outage (its queue's
// reservations go to the fallback store) and its configuration: a fresh
// bucket per outage, at this process's share.
func (l *Limiter) degradedKey(fk *fleetKey, kc pacing.KeyConfig) (string, pacing.KeyConfig) {
	fk.mu.Lock()
	n, outage := fk.processes, fk.outage
	fk.mu.Unlock()
	return fk.key + "#local" + strconv.Itoa(outage), shareConfig(kc, n)
}

func (l *Limiter) acquireDegraded(ctx context.Context, fk *fleetKey, key string, kc pacing.KeyConfig, amt pacing.Amount, pri Priority, start time.Time, tenant string) (*Ticket, error) {
	dk, skc := l.degradedKey(fk, kc)
	t, err := l.acquireLocal(ctx, dk, l.fallback, skc, amt, pri, tenant)
	if t == nil {
		return nil, err
	}
	t.Waited = l.cfg.Clock.Now().Sub(start)
	now := l.cfg.Clock.Now()
	fk.mu.Lock()
	if fk.degraded {
		keep := fk.local[:0]
		for _, a := range fk.local {
			if now.Sub(a.at) < window(kc) {
				keep = append(keep, a)
			}
		}
		fk.local = append(keep, localAdmission{now, amt})
	} else {
		// Rejoined while this waiter was queued locally: charge the store.
		fk.addRefund("", pacing.Amount{Requests: -amt.Requests, Tokens: -amt.Tokens})
		l.armFlush(fk)
	}
	fk.mu.Unlock()
	return t, nil
}

func (l *Limiter) throttledFleet(ctx context.Context, key string, kc pacing.KeyConfig, a pacing.Axis) bool {
	sctx, cancel := l.storeCtx(ctx)
	lowered, err := l.fleet.Throttled(sctx, key, kc, a)
	cancel()
	if err == nil {
		return lowered
	}
	l.storeErrors.Add(1)
	fk := l.fleetKey(key)
	fk.mu.Lock()
	if !fk.degraded {
		fk.degraded = true
		fk.outage++
	}
	fk.mu.Unlock()
	dk, skc := l.degradedKey(fk, kc)
	lowered, _ = l.fallback.Throttled(ctx, dk, skc, a)
	return lowered
}

func (l *Limiter) stateFleet(ctx context.Context, key string, kc pacing.KeyConfig) pacing.KeyState {
	sctx, cancel := l.storeCtx(ctx)
	st, err := l.fleet.State(sctx, key, kc)
	cancel()
	if err == nil {
		return st
	}
	l.storeErrors.Add(1)
	dk, skc := l.degradedKey(l.fleetKey(key), kc)
	st, _ = l.fallback.State(ctx, dk, skc)
	return st
}

// Processes returns the live processes of key last reported by the fleet
// store (0 without one, or before the first call).
func (l *Limiter) Processes(key string) int {
	v, ok := l.fleets.Load(key)
	if !ok {
		return 0
	}
	fk := v.(*fleetKey)
	fk.mu.Lock()
	defer fk.mu.Unlock()
	return fk.processes
}
