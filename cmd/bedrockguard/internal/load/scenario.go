// Package load runs seeded Bedrock workloads against the simulator through
// differently configured clients and measures quota use, throttles,
// failures, latency and fairness. It backs the loadtest and demo commands.
package load

import (
	"fmt"
	"sort"
	"time"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// SizeClass is one prompt size of a workload mix.
type SizeClass struct {
	Name         string
	Weight       float64
	PromptTokens int // in the simulator's counting rule
}

// Scenario is a workload and the server it runs against.
type Scenario struct {
	Name string
	// Window is the quota period of the server and of the guard.
	Window time.Duration
	// Server is the simulator's quota for Model.
	Server bedrocksim.Quota
	// Told reports whether the guard is configured with Server's quota.
	Told bool
	// DropFraction, if non-zero, scales the server's quota to this
	// fraction DropAfter into the run; the guard is not told.
	DropFraction float64
	DropAfter    time.Duration
	// UnavailableRate is the fraction of calls the server answers with 503
	// ServiceUnavailableException, as Bedrock does at peak (and, when it is
	// set, the first two calls of the run).
	UnavailableRate float64
	Workers         int
	Duration        time.Duration
	Classes         []SizeClass
	MaxTokens       []int
	// StreamShare is the fraction of calls made with ConverseStream.
	StreamShare float64
	Model       string
	Latency     Latency
	// InputTokenScale, if positive, makes the simulator count input tokens
	// this many times its own rule: a tokenizer the guard does not know.
	InputTokenScale float64
	Seed            int64
	// MaxCalls, if positive, stops the run once that many calls were
	// issued, even before Duration (a cheap run against real Bedrock).
	MaxCalls int
	// RiseFactor, if above 1, multiplies the server's quota by this factor
	// RiseAfter into the run; the guard is not told.
	RiseFactor float64
	RiseAfter  time.Duration
	// Neighbour, if its Share is set, is an unguarded client (no retries)
	// that spends Share of the server's token quota from NeighbourFrom to
	// NeighbourUntil on the same key, with calls of NeighbourTokens each.
	Neighbour Neighbour
	// Alternate, if set, is another inference profile of Model with a
	// quota of its own, equal to Server's: the guarded modes give the
	// guard a spillover route to it (see spillover.go).
	Alternate string
}

// Latency is the simulated model latency: Base before the first output
// token, then PerOutputToken per token.
type Latency struct {
	Base, PerOutputToken time.Duration
}

// Neighbour is another workload on the same quota, paced open-loop at a
// fixed share of the token quota (it does not back off: it is not ours).
type Neighbour struct {
	Share        float64
	From, Until  time.Duration
	PromptTokens int
	MaxTokens    int
}

// changeAt is when the server's capacity left to the guard changes: the
// quota drop or rise, or the neighbour's arrival; zero if never.
func (s Scenario) changeAt() time.Duration {
	switch {
	case s.DropFraction > 0:
		return s.DropAfter
	case s.RiseFactor > 1:
		return s.RiseAfter
	case s.Neighbour.Share > 0:
		return s.Neighbour.From
	}
	return 0
}

// DefaultModel is the model of the built-in scenarios (output burndown 1).
const DefaultModel = "anthropic.claude-3-5-haiku-20241022-v1:0"

var mixedClasses = []SizeClass{
	{Name: "small", Weight: 0.6, PromptTokens: 200},
	{Name: "medium", Weight: 0.3, PromptTokens: 1500},
	{Name: "large", Weight: 0.1, PromptTokens: 6000},
}

// Scenarios returns the built-in scenarios for a quota window, worker
// count and run length. Quotas are expressed per window so that every
// scenario has the same shape at any window.
func Scenarios(window time.Duration, workers int, duration time.Duration) map[string]Scenario {
	perSec := func(tokensPerSecond int64) int64 { return tokensPerSecond * int64(window/time.Second) }
	base := Scenario{
		Window:      window,
		Workers:     workers,
		Duration:    duration,
		Model:       DefaultModel,
		Classes:     mixedClasses,
		MaxTokens:   []int{256, 512, 1024},
		StreamShare: 0.25,
		Latency:     Latency{Base: 200 * time.Millisecond, PerOutputToken: 500 * time.Microsecond},
		Seed:        1,
		Told:        true,
	}
	m := map[string]Scenario{}
	add := func(name string, f func(*Scenario)) {
		s := base
		s.Name = name
		f(&s)
		m[name] = s
	}
	add("tpm-bound", func(s *Scenario) {
		s.Server = bedrocksim.Quota{TokensPerWindow: perSec(10_000)}
		s.Classes = []SizeClass{{Name: "medium", Weight: 1, PromptTokens: 1000}}
		s.MaxTokens = []int{512}
	})
	add("rpm-bound", func(s *Scenario) {
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(10), TokensPerWindow: perSec(1_000_000)}
		s.Classes = []SizeClass{{Name: "small", Weight: 1, PromptTokens: 100}}
		s.MaxTokens = []int{128}
	})
	add("mixed", func(s *Scenario) {
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(50), TokensPerWindow: perSec(10_000)}
	})
	add("quota-drop", func(s *Scenario) {
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(50), TokensPerWindow: perSec(10_000)}
		s.DropFraction = 0.5
		s.DropAfter = duration / 2
	})
	add("demo", func(s *Scenario) {
		// A small quota that a burst of mixed calls, some of them streams,
		// overruns many times over.
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(20), TokensPerWindow: perSec(4_000)}
		s.StreamShare = 0.3
		s.UnavailableRate = 0.02
	})
	add("no-quota", func(s *Scenario) {
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(50), TokensPerWindow: perSec(10_000)}
		s.Told = false
	})
	add("large", func(s *Scenario) {
		// Large prompts only: every call is a tenth of the window's quota.
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(50), TokensPerWindow: perSec(10_000)}
		s.Classes = []SizeClass{{Name: "large", Weight: 1, PromptTokens: 4000}}
		s.MaxTokens = []int{512, 1024}
	})
	add("quota-rise", func(s *Scenario) {
		// The quota doubles silently a third into the run; the guard has
		// no quota (it learns both).
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(50), TokensPerWindow: perSec(10_000)}
		s.Told = false
		s.RiseFactor = 2
		s.RiseAfter = duration / 3
	})
	add("noisy-neighbour", func(s *Scenario) {
		// An unguarded client takes 40 % of the token quota for the middle
		// third of the run, then stops.
		s.Server = bedrocksim.Quota{RequestsPerWindow: perSec(50), TokensPerWindow: perSec(10_000)}
		s.Neighbour = Neighbour{Share: 0.4, From: duration / 3, Until: 2 * duration / 3, PromptTokens: 1000, MaxTokens: 200}
	})
	// A no-quota variant of every scenario that has a told quota.
	for _, name := range []string{"mixed", "tpm-bound", "rpm-bound", "large", "quota-drop", "noisy-neighbour"} {
		s := m[name]
		s.Name = name + "-no-quota"
		s.Told = false
		m[s.Name] = s
	}
	return m
}

// ScenarioNames returns the names of the built-in scenarios, sorted.
func ScenarioNames() []string {
	var names []string
	for n := range Scenarios(time.Second, 1, time.Second) {
		names = append(names, n)
	}
	for n := range budgetScenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate reports a scenario that cannot run.
func (s Scenario) Validate() error {
	switch {
	case s.Window < time.Second:
		return fmt.Errorf("window %v is under one second", s.Window)
	case s.Workers < 1:
		return fmt.Errorf("workers %d must be at least 1", s.Workers)
	case s.Duration <= s.Window:
		return fmt.Errorf("duration %v must exceed one window (%v)", s.Duration, s.Window)
	case len(s.Classes) == 0 || len(s.MaxTokens) == 0:
		return fmt.Errorf("scenario %q has no prompt mix", s.Name)
	}
	return nil
}
