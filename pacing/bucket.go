package pacing

import "time"

// Axis names one of the two limits of a key.
type Axis int

const (
	// Requests is the requests-per-window axis (RPM).
	Requests Axis = iota
	// Tokens is the tokens-per-window axis (TPM).
	Tokens
)

// Algorithm selects how an axis' rate recovers after a throttle.
type Algorithm int

const (
	// CUBIC regrows along the CUBIC curve used by the AWS SDK's adaptive
	// retry mode and TCP CUBIC: fast far from the rate that throttled, flat
	// near it, then probing beyond it. It is the default.
	CUBIC Algorithm = iota
	// AIMD regrows linearly, by AIMDIncrease of the reference rate per window.
	AIMD
)

// String returns "cubic" or "aimd".
func (a Algorithm) String() string {
	if a == AIMD {
		return "aimd"
	}
	return "cubic"
}

// AxisConfig is what a Store needs to know about one axis of a key. It is
// plain data so that a remote Store can receive it with each call.
type AxisConfig struct {
	// Quota is the configured amount per Window; zero means unknown: the axis
	// starts in slow start and learns its ceiling from throttles.
	Quota float64
	// Window is the quota period and the bucket's burst horizon.
	Window time.Duration
	// InitialFill is the fraction of capacity a new bucket starts with.
	InitialFill float64
	// Algorithm, Beta, CubicC, AIMDIncrease and Cooldown tune adaptation;
	// see [Config].
	Algorithm    Algorithm
	Beta         float64
	CubicC       float64
	AIMDIncrease float64
	Cooldown     time.Duration
}
