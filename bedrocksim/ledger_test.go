package bedrocksim

import (
	"testing"
	"time"
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
		want     throttleKind
		req, tok float64 // levels after the step (-1 = unlimited)
	}
	tests := []struct {
		name  string
		q     Quota
		steps []step
	}{
		{"reserve then refund", Quota{RequestsPerWindow: 2, TokensPerWindow: 1000}, []step{
			{t: t0, op: "admit", n: 600, want: throttleNone, req: 1, tok: 400},
			{t: t0, op: "admit", n: 600, want: throttleTokens, req: 1, tok: 400},
			{t: t0, op: "settle", n: 600, m: 100, req: 1, tok: 900},
			{t: t0, op: "admit", n: 600, want: throttleNone, req: 0, tok: 300},
			{t: t0, op: "admit", n: 1, want: throttleRequests, req: 0, tok: 300},
		}},
		{"continuous refill", Quota{TokensPerWindow: 600}, []step{
			{t: t0, op: "admit", n: 600, req: -1, tok: 0},
			{t: at(30 * time.Second), op: "admit", n: 301, want: throttleTokens, req: -1, tok: 300},
			{t: at(31 * time.Second), op: "admit", n: 300, req: -1, tok: 10},
			{t: at(10 * time.Minute), op: "admit", n: 0, req: -1, tok: 600}, // capped at one window
		}},
		{"burndown debt", Quota{TokensPerWindow: 1000}, []step{
			{t: t0, op: "admit", n: 110, req: -1, tok: 890},          // input 10 + max_tokens 100
			{t: t0, op: "settle", n: 110, m: 510, req: -1, tok: 490}, // 10 + 100 output x 5
		}},
		{"never fits", Quota{TokensPerWindow: 100}, []step{
			{t: at(time.Hour), op: "admit", n: 101, want: throttleTokens, req: -1, tok: 100},
		}},
		{"tokens per day", Quota{TokensPerWindow: 1000, TokensPerDay: 1500}, []step{
			{t: t0, op: "admit", n: 1000, req: -1, tok: 0},
			{t: at(time.Minute), op: "admit", n: 1000, want: throttleTokensPerDay, req: -1, tok: 1000},
			// A day is 1440 windows: one window later the day bucket has
			// only got 1500/1440 back (500 + 2 x 1500/1440 = 502.08 after two).
			{t: at(2 * time.Minute), op: "admit", n: 503, want: throttleTokensPerDay, req: -1, tok: 1000},
			{t: at(2 * time.Minute), op: "admit", n: 502, req: -1, tok: 498},
		}},
		{"quota drop", Quota{RequestsPerWindow: 10, TokensPerWindow: 1000}, []step{
			{t: t0, op: "scale", f: 0.25, req: 2.5, tok: 250},
			{t: t0, op: "admit", n: 251, want: throttleTokens, req: 2.5, tok: 250},
			{t: at(time.Minute), op: "admit", n: 250, req: 1.5, tok: 0},
			{t: at(2 * time.Minute), op: "scale", f: 1, req: 2.5, tok: 250}, // levels refill from here
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(tt.q, time.Minute, t0)
			for i, s := range tt.steps {
				switch s.op {
				case "admit":
					if got := l.admitAt(s.t, s.n); got != s.want {
						t.Errorf("step %d: admitAt(%d) = %v, want %v", i, s.n, got, s.want)
					}
				case "settle":
					if got := l.settleAt(s.t, s.n, s.m); got != s.n-s.m {
						t.Errorf("step %d: refund %d, want %d", i, got, s.n-s.m)
					}
				case "scale":
					l.setScaleAt(s.t, s.f)
				}
				req, tok, _ := l.available(s.t)
				if !near(req, s.req) || !near(tok, s.tok) {
					t.Errorf("step %d: levels req=%.2f tok=%.2f, want %.2f %.2f", i, req, tok, s.req, s.tok)
				}
			}
		})
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }
