// Package pacing is bedrockguard's limiter: per key (region and model or
// inference profile) a requests bucket and a tokens bucket, refilled
// continuously, with a burst of one window's worth, reservation at admission
// and settlement to real usage afterwards, an adaptive rate that learns from
// throttles, and an ordered wait queue with priorities and deadline checks.
//
// # Buckets
//
// A bucket of quota Q per window W refills at Q/W continuously and holds at
// most Q, the way Bedrock's own quota buckets behave. [Limiter.Acquire]
// takes one request and the request's reservation (estimated input tokens
// plus max_tokens times the output burndown) from the two buckets at once;
// [Ticket.Settle] returns the difference once the service reports usage, and
// [Ticket.Release] returns all of it when the call failed before the service
// counted it. A request larger than the current capacity is admitted when the
// bucket is full and leaves debt, so nothing waits forever; a request larger
// than a whole window of the configured quota fails at once with a
// [TooLargeError], since the service could never admit it either.
//
// # Waiting
//
// Waiters of one key are served in order: an Interactive waiter is queued as
// if it had arrived one window earlier than a Batch waiter (so Batch traffic
// yields, but never waits more than about one extra window), and first come,
// first served within that order. FIFO admission is what stops a stream of
// small requests from starving a large one: the large one at the head waits
// while tokens accumulate, which costs no throughput while the bucket is
// below capacity. A waiter whose context deadline would pass before its
// estimated admission fails at once with a [DeadlineError]. Waiting is
// cancellable and leaves no goroutine or timer behind: one timer per key
// wakes the head of its queue, and only while the queue is not empty.
//
// # Tenants and budgets
//
// Waiters that name a tenant are ordered by weighted fair queueing: each
// tenant has a virtual clock (floored at the real time) that a request of
// c tokens advances by c over the tenant's share of the rate, so a tenant
// sending more than its share queues behind the others' new arrivals; the
// priority boost is subtracted from that tag as from an arrival time. With
// a [FleetStore] each process moves its tenants' tickets back by their lag.
// The tokens-per-day quota and tenants' token budgets are fixed buckets in
// the same Store, under keys of their own, charged before a call queues
// and settled with it; a call one of them cannot hold fails at once. A
// Store needs nothing new for them.
//
// # Adaptation
//
// Without a quota an axis starts in slow start: its first admission is a
// small burst (four times the first request), then every admitted unit
// raises the rate by four units, so the rate grows by e every quarter
// window while demand fills it (bounded by eight times what was admitted
// over the last window). Both axes learn this way; none sends an unpaced
// herd.
//
// A throttle on an axis empties that bucket (the server's is empty), with
// a debt of half a Cooldown's refill so that the request right after it,
// at a rate that may still be above the server's, does not meet an empty
// server bucket too; and lowers the rate, at most once per Cooldown (a
// tenth of the window), since one burst of in-flight requests throttled
// together is one signal. The throttled attempt's reservation goes back to
// the bucket in the same step, before any waiter can be admitted on it.
//
// The new ceiling is estimated from the evidence. The server's bucket is
// empty at the throttle and held at most one window's worth at any earlier
// time, so the units charged over the last d windows are at most (1 + d)
// windows of its rate: each suffix of the span gives a lower bound of the
// rate. The span starts at the previous decrease (the server's bucket was
// empty then too: the bound is charged over d) or at the first admission;
// the limiter also keeps a checkpoint every quarter window (the last four)
// and takes the largest bound. At the throttle the server still held less
// than the refused request, on average half a mean admission, which the
// bounds add back (without it, after a quota halved under requests of a
// tenth of it, the hold came out 6 % low). The whole span misses the
// refill the server wasted while its bucket was full (slow start still
// below the ceiling, a quiet spell); a suffix that starts about when the
// bucket began to drain does not, so slow start's first estimate lands
// within a few percent of the ceiling instead of about 20 % under it.
//
// The span counts what the service charged, not what the guard reserved:
// an attempt admitted before the decrease that opened the span and
// throttled after it was never charged by the service, so its release does
// not count; one settled in the span counts only what the service gave
// back (admitted minus charged), since the span before counted its
// reservation. After slow start, with many attempts in flight at the
// throttle, counting their ends as refunds put the next estimate up to
// 15 % low (MemoryStore; a fleet store counts refunds as they come).
//
// The rate then holds 3 % under the estimate. Without a window of
// evidence, or when the evidence asks for a cut deeper than Beta over less
// than two windows (a short span that straddles a change), or, while the
// rate was held (a configured quota never lowered, or the hold after a
// decrease), for a cut of less than 5 % (the ceiling held most of the span
// and dropped just before its end: a silent quota drop), the rate is
// multiplied by Beta (0.6), as in the SDK's adaptive mode, and the next
// throttle measures. A span of a quarter window or more since the previous
// decrease still bounds that step from below (the server's bucket was
// empty at both ends, to within one request), and its estimate, too noisy
// to hold at, is where the regrowth flattens, so that the next throttle
// comes after a longer span. A deeper cut over two windows or more is a
// probe that ran far past the ceiling while the server spent the slack it
// had saved below it (a Beta step would still be above the ceiling): the
// estimate is used, with no hold, since the ceiling may also have risen
// during the span.
//
// After the hold the rate probes: it regrows along the CUBIC curve
// W(t) = Wmax (1 + C (t-K)^3), t in windows after the hold,
// K = cbrt((1 - W(0)/Wmax)/C), C = 0.015 (or linearly, with AIMD): flat near
// the estimate, then faster beyond it. A probe over a real ceiling ends with
// one throttle, whose evidence confirms the estimate; each confirming probe
// doubles the next hold. With a configured quota a probe can only find that
// quota coming back, so the hold after an estimate that moved is 8 windows,
// then 16 (at most one probe per 20 windows once the estimate holds);
// without one, where a probe must find a quota that rose, 2, 4, 4, ...
// windows, and an estimate that moved by more than 10 % starts again at 2.
//
// # Probing cost and finding capacity
//
// The hold is the trade-off. A probe costs one throttle when nothing has
// changed (one decrease is one throttle: the throttled attempt's tokens no
// longer admit the next waiter, and the half-Cooldown debt keeps the
// request after it off the server's empty bucket; before both, every
// decrease cost two); a shorter hold finds new capacity sooner. With a
// configured quota, 8 then 16 windows: a quota that changed once costs its
// two or three throttles, then one per 16 windows plus the probe's own. Without
// one the hold stops at 4 windows, since it must find a quota that rose: a
// probe every 4 + about 3 windows, so with 50 calls a window about 3
// throttles per 1000 calls, with 15 (large prompts) about 10; and a quota
// that doubled is at 90 % within the rest of the hold + K (1.3 windows) +
// 3.8 windows of the convex CUBIC branch, at most about 9 windows.
//
// Measured on virtual time: the loadtest's runs, through the real
// bedrockruntime client and the guard against the simulator served in
// memory inside a testing/synctest bubble, 20 seeds per scenario, each with
// the simulator's own token rule and with a rule that counts a third more
// input at 600 ms + 1 ms per output token (go test
// ./cmd/bedrockguard/internal/load -run TestZeroConfigTargets -v -args
// -zc.seeds=1-20; 6 s window, 32 workers, 60 s runs, quota-rise 90 s;
// min/mean/max over the 40 runs, no quota told unless said):
//
//	no-quota (mixed prompts)   0 failed, 91.9/98.7/103.7 % of TPM, 2.8/3.6/6.0 throttles per 1000
//	                           calls after the first two windows, p99/p50 at most 2.0
//	large-no-quota             0 failed, 96.9/100.2/104.1 % of TPM, 8.7/10.5/12.3 per 1000
//	                           (23 with the other rule before the accounting of attempts in
//	                           flight at a decrease and the warm-up reservations), p99/p50 <= 1.9
//	tpm-bound, rpm-bound       0 failed, >= 97.8 % of the binding quota, <= 3.5 per 1000
//	quota-drop (told the old)  0 failed, 2/3.0/4 throttles from the drop, 77.5/98.7/112.6 % of the
//	                           lowered quota from two windows after it (18 s of completions: one
//	                           run carries several percent of noise), p99/p50 1.8/2.7/3.5
//	quota-drop, no quota       0 failed, 2/3.2/5 throttles from the drop, 75.4/97.4/118.1 % of the
//	                           lowered quota after it, 12.2/18.8/27.8 throttles per 1000 calls
//	noisy-neighbour (told)     0 failed, 2/2.5/4 throttles while it runs, 63.4/94.6/126.9 % of what
//	                           it leaves (8 s of completions)
//	noisy-neighbour, no quota  0 failed, 2/3.0/4 throttles, 61.8/95.5/131.3 % of what it leaves
//	quota-rise                 0 failed, 90 % of the doubled quota 1 to 9 windows after the rise
//	mixed, tpm-bound, rpm-bound (told)  0 throttles in all 120 runs, 98.3-101.4 % of the binding quota
//
// The loadtest's wall-clock runs of the same scenarios agree with these
// within their noise (docs/loadtest.txt). The previous algorithm (unpaced
// until the first throttle, Beta of the rate that throttled, CUBIC back up
// with no hold) crossed the ceiling every two or three windows, and the
// budget then failed calls.
//
// # Stores
//
// Bucket state lives in a [Store]: [MemoryStore] in process by default. Each
// Store call is atomic per key and uses the store's own clock, so that a
// shared implementation (Redis, with server-side scripts and the server's
// TIME) lets a fleet of processes share one quota. When a store call fails,
// the limiter falls back to a local MemoryStore and counts the failure
// ([Limiter.StoreErrors]).
//
// # Time
//
// The bucket arithmetic is pure and takes the time as a parameter; the
// MemoryStore reads it from an injected function, and the limiter waits on an
// injectable [Clock]. Tests run the wall clock inside testing/synctest.
package pacing
