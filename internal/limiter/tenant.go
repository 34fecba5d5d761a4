package limiter

import (
	"math"
	"time"
)

// Tenants: within one key, the calls of different tenants (named with the
// root package's WithTenant) share the quota by weighted fair queueing.
//
// Each waiter's place in the queue is a tag in time units: a virtual clock
// per tenant (Zhang's VirtualClock, floored at the real time as in
// start-time fair queueing). A request of c tokens from tenant f, arriving
// at now, starts at S = max(now, F[f]) and moves F[f] to
// S + c/R x window x W/w[f], where R is the key's tokens per window, w[f]
// the tenant's weight and W the sum of the weights of the active tenants
// (those with a waiter queued or a finish tag still ahead of now). A tenant
// alone is charged its real service time, so its tags stay near the real
// clock; with others active, each tenant's tags advance at the rate its
// share is served, and a tenant sending more than its share runs ahead of
// the clock and queues behind the others' new arrivals. The tag is floored
// at now, so a tenant that used capacity nobody else wanted is not
// punished for it later, and the queue stays work-conserving: it only
// orders waiters, it never holds one back while the bucket has room.
//
// Priorities still apply: the waiter's order is its tag minus the priority
// boost (Interactive as if it had arrived one window earlier), and each
// tenant keeps one finish tag per priority, so that a tenant's Interactive
// calls are not queued behind its own Batch backlog. Within a tenant and a
// priority, tags only grow: first come, first served.
//
// A key used only without a tenant keeps plain arrival order (no tags),
// exactly as before tenants existed.
//
// Fleet mode (a pacing.FleetStore): each process keeps its own table per
// key and computes the tag the same way, with the configured tokens quota
// as R (none known: no reordering), then queues the ticket in the store at
// its arrival minus the priority boost minus the tag's lead over now
// (AdmitRequest.Boost, which may go negative), so the store's one queue
// orders the fleet's tickets by their tenants' tags. A process only sees
// its own tenants: a tenant spread over several processes is charged in
// each one's table separately, and the weight sum counts the tenants
// active in that process. When the store is down, each process's local
// queue orders its tenants as above.
//
// The table is bounded: a tenant with no waiter and no finish tag ahead of
// now has nothing to remember (its next tag starts at now either way) and
// is dropped, and at most maxTenants tenants are tracked per key; past
// that, new tenants share one overflow entry until the table empties.

// maxTenants bounds the tenants tracked per key.
const maxTenants = 4096

// overflowTenant is the entry shared by tenants past maxTenants. The NUL
// byte keeps it apart from any tenant ID a caller can name.
const overflowTenant = "\x00overflow"

// tenantState is one tenant's virtual clock on one key.
type tenantState struct {
	finish  [2]time.Time // per priority: the finish tag of its last request
	waiting int          // its waiters queued
	weight  float64
}

// active reports whether the tenant counts in the weight sum at now.
func (ts *tenantState) active(now time.Time) bool {
	return ts.waiting > 0 || ts.finish[0].After(now) || ts.finish[1].After(now)
}

// untag takes back the finish tag of a request that started at start and
// was refused before it queued: the next request starts where it would
// have. (A finish tag before now and now itself give the same next tag.)
func (ts *tenantState) untag(pri Priority, start time.Time) {
	ts.finish[priIndex(pri)] = start
}

// priIndex is the index of pri's finish tag.
func priIndex(pri Priority) int {
	if pri == Batch {
		return 1
	}
	return 0
}

// tenantTable is the tenants of one key. It is not safe for concurrent
// use: its owner's lock guards it.
type tenantTable struct {
	m         map[string]*tenantState
	lastSweep time.Time
}

// used reports whether any tenant was ever named on the key and is still
// tracked.
func (t *tenantTable) used() bool { return len(t.m) > 0 }

// len returns the number of tenants tracked.
func (t *tenantTable) len() int { return len(t.m) }

// tag returns the start tag of a request of tokens from tenant id at
// priority pri arriving at now, and the tenant's state (to count its
// waiter). rate is the key's tokens per window (<= 0: unknown, every
// request then costs nothing and the order is arrival order).
func (t *tenantTable) tag(now time.Time, id string, weight float64, pri Priority, tokens, rate float64, window time.Duration) (time.Time, *tenantState) {
	if t.m == nil {
		t.m = map[string]*tenantState{}
	}
	t.sweep(now, false)
	ts, ok := t.m[id]
	if !ok {
		if len(t.m) >= maxTenants {
			t.sweep(now, true)
		}
		if len(t.m) >= maxTenants {
			id = overflowTenant
			ts = t.m[id]
		}
		if ts == nil {
			ts = &tenantState{}
			t.m[id] = ts
		}
	}
	if !(weight > 0) || math.IsInf(weight, 0) {
		weight = 1
	}
	ts.weight = weight
	p := priIndex(pri)
	start := ts.finish[p]
	if start.Before(now) {
		start = now
	}
	if rate > 0 && tokens > 0 && window > 0 {
		sum := 0.0
		for _, o := range t.m {
			if o == ts || o.active(now) {
				sum += o.weight
			}
		}
		cost := tokens / rate * float64(window) * sum / weight
		ts.finish[p] = start.Add(time.Duration(math.Min(cost, float64(maxWait))))
	} else {
		ts.finish[p] = start
	}
	return start, ts
}

// sweep drops the tenants with nothing to remember, at most once per
// sweepEvery unless forced.
func (t *tenantTable) sweep(now time.Time, force bool) {
	if !force && now.Sub(t.lastSweep) < sweepEvery {
		return
	}
	t.lastSweep = now
	for id, ts := range t.m {
		if !ts.active(now) {
			delete(t.m, id)
		}
	}
}
