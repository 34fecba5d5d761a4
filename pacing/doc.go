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
// # Adaptation
//
// A throttle on an axis empties that bucket (the server's is empty) and
// lowers the axis' rate to Beta (0.6) times its current value, at most once
// per Cooldown (a tenth of the window), since one burst of in-flight requests
// throttled together is one signal. The rate then regrows toward the
// configured quota along a CUBIC curve W(t) = Wmax (1 + C (t-K)^3), t in
// windows, K = cbrt((1 - W(0)/Wmax)/C), the curve of the AWS SDK's adaptive
// retry mode and of TCP CUBIC: fast while far below the rate that
// throttled, flat near it, then probing beyond it. With fast convergence, a
// throttle at a rate below the previous one's sets Wmax to (1+Beta)/2 of
// it: the quota shrank, so aim lower. With no quota configured an axis is
// not paced until its first throttle; then its rate starts at Beta times the
// rate measured over the last window and probes upward, capped at twice the
// measured rate so that an idle key does not drift to a rate it never used.
//
// The algorithm and its constants were chosen with the simulator
// (go run ./cmd/bedrockguard loadtest, window 6 s, 32 workers, 60 s per run,
// two seeds; the quota-drop scenario halves the server's quota at 30 s
// without telling the guard). Throttles per 1000 calls over the run, and
// goodput as a share of the lowered quota from one window after the drop:
//
//	CUBIC, Beta 0.7, C 0.0375, no fast convergence   40.7 (30 s run)   95.9 %
//	CUBIC, Beta 0.7, C 0.0375, fast convergence      14.1, 27.6        99.1 %, 99.0 %
//	CUBIC, Beta 0.6, C 0.0375                        18.2, 15.3        88.6 %, 99.0 %
//	CUBIC, Beta 0.7, C 0.015                         22.6, 12.7        94.6 %, 98.9 %
//	CUBIC, Beta 0.6, C 0.015 (the default)           11.0, 11.6        93.0 %, 102.3 %
//	AIMD,  Beta 0.6, +10 % of quota per window       11.4, 19.8        94.2 %, 92.6 %
//
// A deeper cut gets below a halved quota in two steps instead of three, and
// a smaller C keeps the rate on the plateau near the last throttle for about
// three windows before it probes, so re-probing throttles are rare. AIMD's
// linear regrowth crosses the true limit at the same slope every time; CUBIC
// slows down near it. Without throttles (the mixed, tpm-bound, rpm-bound
// scenarios) the choice does not matter: the buckets mirror the server's.
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
