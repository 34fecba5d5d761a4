// Package redisstore is a [pacing.Store] in Redis, so that a fleet of
// processes paces its calls against one shared Bedrock quota instead of each
// process assuming the whole quota is its own.
//
// It is a separate module (github.com/bedrockguard/bedrockguard/pacing/redisstore)
// so that the core library does not depend on a Redis client. Pass the store
// to [pacing.Config] or to bedrockguard.WithStore.
//
// # Data layout
//
// The state of key k is one hash, prefix+"{"+k+"}" (the prefix is
// "bedrockguard:"; see [WithPrefix]), with an epoch field ep (a random name
// given when the hash is created, see Fleet model) and twenty-four fields
// per axis, prefixed r (requests) and t (tokens):
//
//	lv  level: units available, negative is debt
//	la  last: when the level was last brought up to date (µs since the epoch)
//	li  limited: 1 when the axis is paced
//	wm  wMax: the estimated ceiling (or the rate in force) at the last decrease
//	da  decreasedAt: the time of the last decrease (µs; 0 for none)
//	ba  base: the rate right after the last decrease
//	me  measured: admitted units, decayed with time constant one window
//	ma  measuredAt (µs; 0 for none)
//	fa  firstAt: the first admission, to scale a young key's measured rate
//	ho  hold: windows the rate stays at base after the decrease
//	ga  gap: the hold after the next decrease that confirms wm
//	sl  slow: the slow-start rate (0 before the first admission)
//	sp  spent: net units charged since mk
//	mk  markAt: the start of the evidence span (µs)
//	cr  credit: windows of quota assumed in the server's bucket at mk
//	k1..k4  the evidence span's last four checkpoints (µs), newest first
//	q1..q4  spent at each of them
//	at  avgTake: the mean admission size (a moving average over about 8)
//
// These are exactly the fields of package pacing's per-axis state. Numbers
// are stored as decimal strings that read back as the same doubles. Every
// call renews the key's TTL ([DefaultIdleWindows] times its longer window, or
// [WithIdleTTL]); an idle key expires and later starts again as a new one,
// which changes nothing for an axis with a configured quota (its bucket would
// have refilled and its recovery ended), and returns an axis without one to
// slow start. The configuration (quotas, windows,
// Algorithm, Beta, CUBIC C, AIMD increase, Cooldown, InitialFill) is not
// stored: it arrives with every call, as [pacing.KeyConfig].
//
// # Scripts
//
// Each Store method is one Lua script, run with EVALSHA (and EVAL when the
// server does not have it cached yet): reserve, return, throttled and state.
// The four share one body, bucket.lua, which loads the hash with HMGET,
// brings both axes up to date, applies the operation, writes all fields back
// with HSET, renews the TTL with PEXPIRE and returns its results as strings
// (Redis would truncate Lua numbers to integers). bucket.lua is a line-for-
// line port of pacing's bucket.go: advance (refill at the adaptive rate,
// capped at one window's worth), rate (the CUBIC curve W(t) = Wmax (1 + C
// (t-K)^3) or AIMD's line, then the ceiling: the quota, or without one twice
// the measured rate but at least Wmax, and never below one unit per window),
// recent (the decayed measurement) and rateEstimate (scaled up for a key
// younger than a window), wait (for min(n, rate) units, rounded up to the
// nanosecond and capped at 24 h), take (admission, which may leave debt on a
// paced axis), give (refunds capped at capacity; negative amounts charge and
// count as usage) and throttled (a decrease to Beta times the current rate
// at most once per Cooldown, fast convergence, and an emptied bucket). Times
// are integers of microseconds and durations of nanoseconds, so the scripts
// evaluate the same IEEE double operations in the same order as Go; only exp
// and the cube root come from other libraries (Lua's math.exp, and a power
// with one Newton step for math.Cbrt), so results can differ in the last
// bits. The conformance suite in pacing/storetest runs the same step tables
// against pacing.MemoryStore and this store, and compares thousands of
// random operations with a MemoryStore to a relative 1e-9.
//
// The fleet queue of k lives beside its hash, under the same hash tag, so
// that every script touches one Redis Cluster slot: prefix{k}:q (a sorted
// set of tickets "id|requests|tokens" by order, microseconds), prefix{k}:l
// (the same tickets by lease expiry) and prefix{k}:p (the live processes by
// their last call). It needs Redis 6 or later, or Valkey (tested with
// redis-server 7.0).
//
// # Clock
//
// The scripts read the server's clock, redis.call('TIME'), so the processes'
// own clocks do not matter: every process sees the buckets at the one
// server time. A script that reads TIME and then writes must be replicated as
// its writes, not as itself; the scripts call redis.replicate_commands(),
// which Redis 3.2 to 6.x require and 7.0 does by default.
//
// # Fleet model
//
// [Store] is a [pacing.FleetStore]: the Limiter of each process does not
// queue locally but in Redis, in one order for the whole fleet. A waiter's
// first call (the admit script) queues its ticket at the server's time
// minus the priority boost (Interactive tickets as if they had arrived one
// window earlier: the same bounded aging as in one process) and admits it
// at once if the buckets hold its amount on top of the amounts of every
// ticket ahead of it. Otherwise it returns the time until they will; the
// waiter sleeps that long in its process and asks again. So arrival order
// and priority hold across processes, a large request at the head is
// never overtaken by smaller ones from elsewhere, deadline checks use the
// fleet-wide wait, and a waiter costs about two script calls, with no
// polling. The refund of a settled call (reserved minus charged) rides on
// the next call of its key from the same process, or goes on its own after
// 100 ms: in the loadtest the fleet makes about 2.5 Redis calls per
// completed call. A ticket whose process died leaves the queue when its
// lease ends (a quarter window past its expected admission, 0.5 to 5 s); a
// cancelled waiter removes its ticket.
//
// # Consistency
//
// On one primary every call is atomic and linearizable per key: the fleet
// never admits more than one bucket allows. Replication is asynchronous, so
// a failover can lose the last writes (a brief over-admission, at most what
// was admitted in the replication lag) and moves the clock to the new
// primary's: a clock behind the old one pauses refill until it catches up
// (advance ignores time going back), a clock ahead refills early, never
// beyond one window's worth. A server restarted without persistence (or a
// failover that lost the key) starts the key again as new, with a new
// epoch; queued waiters re-queue at their original order on their next
// call, and each process charges the new bucket with what it admitted on
// its own during the last window (see Degradation), so the first window
// after the restart is not admitted twice.
//
// # Degradation
//
// Every call is bounded ([WithTimeout], and the Limiter's own StoreTimeout,
// 250 ms each by default) and made with no lock that other waiters need. A
// failed call returns an error, and the Limiter then paces locally, but at
// its share of the quota, not all of it: the quota divided by the live
// processes of the key that Redis last reported (every call is a heartbeat;
// a process stays live for two windows after its last call), in a local
// bucket that starts empty, since the fleet has just spent the shared one.
// The share assumes the processes were all busy and all lose Redis
// together; a process that never reached Redis paces with the whole quota,
// and a key without a quota (zero-config) is paced locally only from its
// own throttles. Every reservation is settled in the store that charged it:
// a refund owed to Redis waits for Redis (and is dropped if Redis came
// back with a new epoch, which never charged it), and a reservation taken
// locally is settled locally. Each new call tries Redis first, so a process
// rejoins on its first call after Redis answers (within about 60 ms of a
// transient error, within a second of the end of an outage; see
// [WithRetryAfter]); it then charges Redis with the tokens and requests it
// admitted locally in the last window.
//
// After an error the store fails fast with an error, and then lets a single
// call probe Redis: for 1/16 of [WithRetryAfter] (1 s by default) after a
// first error, doubling with each failed probe up to WithRetryAfter. A
// transient error (a dropped connection, one slow call) thus sends the
// process to local pacing for about 60 ms, during which it admits at its
// share without knowing what the rest of the fleet took, and an unreachable
// server costs one timeout per second per process rather than one per call.
// Give the client short timeouts, no retries and ContextTimeoutEnabled
// (without it go-redis ignores the per-call bounds; see the example).
//
// # Performance
//
// One round trip per call; a Reserve and Return pair took 0.27 to 0.30 ms on
// loopback on a 2-core VM whose PING round trip is 0.08 ms, of which about
// 0.04 ms per script is server time (BenchmarkReserveReturn). Redis runs
// scripts one at a time, so one server handles some 25 000 calls a second.
package redisstore
