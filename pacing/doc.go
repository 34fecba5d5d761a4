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
// lowers the axis' rate to Beta (0.7) times its current value, at most once
// per Cooldown (a tenth of the window), since one burst of in-flight requests
// throttled together is one signal. The rate then regrows toward the
// configured quota along a CUBIC curve W(t) = Wmax (1 + C (t-K)^3), t in
// windows, K = cbrt((1-Beta)/C), the curve of the AWS SDK's adaptive retry
// mode and of TCP CUBIC: fast while far below the rate that throttled, flat
// near it, then probing beyond it. AIMD (linear regrowth) is available for
// comparison. With no quota configured an axis is not paced until its first
// throttle; then its rate starts at Beta times the rate measured over the
// last window and probes upward, capped at twice the measured rate so that
// an idle key does not drift to a rate it never used.
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
