package pacing

import (
	"context"
	"time"
)

// FleetStore is a [Store] shared by several processes that also keeps the
// fleet-wide admission order of each key: a ticket queue ordered by arrival
// time (minus a priority boost), so that arrival order and priorities hold
// across processes, and the live processes of each key, from the heartbeats
// that every call carries. The Limiter uses it instead of its local queue:
// a waiter calls Admit once on arrival, sleeps locally for the Wait it gets
// back, and calls Admit again; it never polls, and holds no lock across a
// call. A Store that does not implement FleetStore is queued locally.
type FleetStore interface {
	Store
	// Admit does, atomically per key: apply req's refund (when its epoch
	// matches), record req.Process as live, queue req.Ticket (if it is not
	// queued yet, at req.Order, or at the store's time minus req.Boost when
	// req.Order is zero), and admit it when the buckets hold its amount on
	// top of the amounts of every ticket queued ahead of it, removing it
	// from the queue. With Cancel it removes the ticket instead; with an
	// empty Ticket it only applies the refund and the heartbeat.
	Admit(ctx context.Context, key string, cfg KeyConfig, req AdmitRequest) (AdmitResult, error)
}

// AdmitRequest is the argument of [FleetStore.Admit].
type AdmitRequest struct {
	// Ticket names the waiter, unique in the fleet; it carries Amount.
	Ticket string
	Amount Amount
	// Order is the ticket's place in the queue (microseconds of the
	// store's clock); zero for a new ticket. A ticket the store lost (it
	// restarted, or the lease ran out) is queued again at this place.
	Order int64
	// Boost moves a new ticket ahead: Interactive tickets are queued as if
	// they had arrived Boost earlier.
	Boost time.Duration
	// MaxWait, when positive, keeps a new ticket whose wait would be longer
	// out of the queue (the caller's deadline would pass first).
	MaxWait time.Duration
	// Lease is how long past its expected admission a queued ticket stays
	// queued without being asked about again (its process may have died).
	Lease time.Duration
	// Cancel removes the ticket from the queue.
	Cancel bool
	// Refund is given back to the buckets first (negative charges more),
	// but only if RefundEpoch is the key's current epoch, so that tokens are
	// only ever refunded to the state that charged them; an empty
	// RefundEpoch applies it in any case (a charge for tokens admitted
	// elsewhere).
	Refund      Amount
	RefundEpoch string
	// Process names the calling process for the heartbeat; Live is how long
	// a process stays counted after its last call.
	Process string
	Live    time.Duration
}

// AdmitResult is the answer of [FleetStore.Admit].
type AdmitResult struct {
	// OK reports that the ticket was admitted and its amount taken.
	OK bool
	// Wait is, when OK is false, the expected time until admission.
	Wait time.Duration
	// Order is the ticket's place in the queue, to pass back.
	Order int64
	// Epoch names the key's current state in the store; it changes when the
	// store loses the key (a restart without persistence, expiry).
	Epoch string
	// Processes is the number of live processes of the key, this one included.
	Processes int
}
