package bedrocksim_test

import (
	"testing"
	"time"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// TestLedgerSteps runs the quota arithmetic as a step table over an
// injected clock: reservation, refund, burndown debt, refill, tokens per
// day and a quota drop.
func TestLedgerSteps(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		t        time.Time
		op       string // "admit", "settle", "scale"
		n, m     int64  // admit: reserve n; settle: reserved n, charged m
		f        float64
		want     bedrocksim.Throttle
		req, tok float64 // levels after the step (-1 = unlimited)
	}
	tests := []struct {
		name  string
		q     bedrocksim.Quota
		steps []step
	}{
		{"reserve then refund", bedrocksim.Quota{RequestsPerMinute: 2, TokensPerMinute: 1000}, []step{
			{t: t0, op: "admit", n: 600, want: bedrocksim.NotThrottled, req: 1, tok: 400},
			{t: t0, op: "admit", n: 600, want: bedrocksim.ThrottledTokens, req: 1, tok: 400},
			{t: t0, op: "settle", n: 600, m: 100, req: 1, tok: 900},
			{t: t0, op: "admit", n: 600, want: bedrocksim.NotThrottled, req: 0, tok: 300},
			{t: t0, op: "admit", n: 1, want: bedrocksim.ThrottledRequests, req: 0, tok: 300},
		}},
		{"continuous refill", bedrocksim.Quota{TokensPerMinute: 600}, []step{
			{t: t0, op: "admit", n: 600, req: -1, tok: 0},
			{t: at(30 * time.Second), op: "admit", n: 301, want: bedrocksim.ThrottledTokens, req: -1, tok: 300},
			{t: at(31 * time.Second), op: "admit", n: 300, req: -1, tok: 10},
			{t: at(10 * time.Minute), op: "admit", n: 0, req: -1, tok: 600}, // capped at one window
		}},
		{"burndown debt", bedrocksim.Quota{TokensPerMinute: 1000}, []step{
			{t: t0, op: "admit", n: 110, req: -1, tok: 890},          // input 10 + max_tokens 100
			{t: t0, op: "settle", n: 110, m: 510, req: -1, tok: 490}, // 10 + 100 output x 5
		}},
		{"never fits", bedrocksim.Quota{TokensPerMinute: 100}, []step{
			{t: at(time.Hour), op: "admit", n: 101, want: bedrocksim.ThrottledTokens, req: -1, tok: 100},
		}},
		{"tokens per day", bedrocksim.Quota{TokensPerMinute: 1000, TokensPerDay: 1500}, []step{
			{t: t0, op: "admit", n: 1000, req: -1, tok: 0},
			{t: at(time.Minute), op: "admit", n: 1000, want: bedrocksim.ThrottledTokensPerDay, req: -1, tok: 1000},
			// A day is 1440 windows: one window later the day bucket has
			// only got 1500/1440 back (500 + 2 x 1500/1440 = 502.08 after two).
			{t: at(2 * time.Minute), op: "admit", n: 503, want: bedrocksim.ThrottledTokensPerDay, req: -1, tok: 1000},
			{t: at(2 * time.Minute), op: "admit", n: 502, req: -1, tok: 498},
		}},
		{"quota drop", bedrocksim.Quota{RequestsPerMinute: 10, TokensPerMinute: 1000}, []step{
			{t: t0, op: "scale", f: 0.25, req: 2.5, tok: 250},
			{t: t0, op: "admit", n: 251, want: bedrocksim.ThrottledTokens, req: 2.5, tok: 250},
			{t: at(time.Minute), op: "admit", n: 250, req: 1.5, tok: 0},
			{t: at(2 * time.Minute), op: "scale", f: 1, req: 2.5, tok: 250}, // levels refill from here
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := bedrocksim.NewLedger(tt.q, time.Minute, t0)
			for i, s := range tt.steps {
				switch s.op {
				case "admit":
					if got := l.AdmitAt(s.t, s.n); got != s.want {
						t.Errorf("step %d: AdmitAt(%d) = %v, want %v", i, s.n, got, s.want)
					}
				case "settle":
					if got := l.SettleAt(s.t, s.n, s.m); got != s.n-s.m {
						t.Errorf("step %d: refund %d, want %d", i, got, s.n-s.m)
					}
				case "scale":
					l.SetScaleAt(s.t, s.f)
				}
				req, tok, _ := l.Available(s.t)
				if !near(req, s.req) || !near(tok, s.tok) {
					t.Errorf("step %d: levels req=%.2f tok=%.2f, want %.2f %.2f", i, req, tok, s.req, s.tok)
				}
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

// TestServerQuotaSettlement checks reservation, refund and burndown as the
// server books them, and that inference-profile IDs are their own key.
func TestServerQuotaSettlement(t *testing.T) {
	clock := newClock()
	sim, client, _ := start(t, bedrocksim.Options{Now: clock.now, OutputFraction: 0.1,
		DefaultQuota: bedrocksim.Quota{TokensPerMinute: 10_000}})
	in := int64(bedrocksim.InputTokens("hi") + bedrocksim.MessageOverhead)
	for _, model := range []string{"anthropic.claude-sonnet-4-5-20250929-v1:0", sonnet45} {
		if _, err := converse(t.Context(), client, model, "hi", 1000, noRetry); err != nil {
			t.Fatal(err)
		}
		ks := sim.Stats().Keys[model]
		reserved, charged := in+1000, in+5*100
		if ks.TokensReserved != reserved || ks.TokensCharged != charged || ks.TokensRefunded != reserved-charged || ks.OutputTokens != 100 {
			t.Errorf("%s: %+v, want reserved %d charged %d", model, ks, reserved, charged)
		}
		_, tok, _ := sim.Ledger(model).Available(clock.now())
		if tok != float64(10_000-charged) {
			t.Errorf("%s: tokens left %v, want %d", model, tok, 10_000-charged)
		}
	}
}
