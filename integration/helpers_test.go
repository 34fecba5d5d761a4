package integration

import (
	"strings"
	"testing"
)

// TestWithMatcher checks the label-matcher injection used to split an
// alert expression by demo phase.
func TestWithMatcher(t *testing.T) {
	metrics := map[string]bool{"aws_bedrock_throttles_total": true, "gen_ai_client_operation_duration_seconds_count": true}
	m := `bedrockguard_mode="guarded"`
	for _, c := range []struct{ in, want string }{
		{`rate(aws_bedrock_throttles_total[5m])`, `rate(aws_bedrock_throttles_total{bedrockguard_mode="guarded"}[5m])`},
		{`rate(aws_bedrock_throttles_total{a!="b"}[5m])`, `rate(aws_bedrock_throttles_total{bedrockguard_mode="guarded",a!="b"}[5m])`},
		{`x(aws_bedrock_throttles_total {})`, `x(aws_bedrock_throttles_total {bedrockguard_mode="guarded"})`},
		{`sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count{error_type="aws_bedrock_throttles_total"}[5m]))`,
			`sum by (gen_ai_request_model) (rate(gen_ai_client_operation_duration_seconds_count{bedrockguard_mode="guarded",error_type="aws_bedrock_throttles_total"}[5m]))`},
	} {
		if got := withMatcher(c.in, m, metrics); got != c.want {
			t.Errorf("withMatcher(%s)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// TestDashboardQueriesResolve checks that every query of the dashboard
// resolves (no template variable left) and names its metrics in selectors.
func TestDashboardQueriesResolve(t *testing.T) {
	qs := dashboardQueries(t)
	for _, q := range qs {
		if strings.Contains(q.Resolved, "$") {
			t.Errorf("panel %q %s: unresolved: %s", q.Panel, q.RefID, q.Resolved)
		}
		if len(selectorNames(q.Resolved)) == 0 {
			t.Errorf("panel %q %s: no metric selector in %s", q.Panel, q.RefID, q.Resolved)
		}
	}
	t.Logf("%d queries", len(qs))
}

// TestTestRules checks the test copy of the alert rules: same alerts, every
// "for" zero.
func TestTestRules(t *testing.T) {
	b, alerts := testRules(t)
	if len(alerts) == 0 {
		t.Fatal("no alerts")
	}
	if n := strings.Count(string(b), "alert: "); n != len(alerts) {
		t.Errorf("%d alerts in the copy, want %d", n, len(alerts))
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimSpace(line), "for: "); ok && f != "0s" {
			t.Errorf("copy keeps %q", line)
		}
	}
}
