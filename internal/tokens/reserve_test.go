package tokens

import "testing"

// Reservations count the input at the upper quantile of the calibration
// ratios plus reserveMargin, the estimate at their median: with half the
// samples 3 % above the others, InputTokens follows the median and
// ReserveTokens covers the high ones with room to spare, so requests
// counted low do not overdraw the quota.
func TestReserveUsesUpperQuantile(t *testing.T) {
	c := newCalibrator(64)
	for i := range 40 {
		actual := int64(1000)
		if i%2 == 0 {
			actual = 1030
		}
		c.observe(Anthropic, 1000, actual)
	}
	if f := c.factor(Anthropic); f < 1.0 || f > 1.016 {
		t.Fatalf("median factor %v, want between 1.0 and 1.015", f)
	}
	if u, want := c.upperFactor(Anthropic), 1.03*(1+reserveMargin); u < want-0.001 || u > want+0.001 {
		t.Fatalf("upper factor %v, want 1.03 x %v", u, 1+reserveMargin)
	}
	est := Estimate{InputTokens: 1010, reserveInput: 1030, MaxTokens: 100}
	if got := est.ReserveTokens(); got != 1130 {
		t.Fatalf("ReserveTokens %d, want 1030 + 100", got)
	}
	est.Exact = true
	if got := est.ReserveTokens(); got != 1110 {
		t.Fatalf("exact ReserveTokens %d, want InputTokens 1010 + 100", got)
	}
}

// AdmittedTokens is what Bedrock took at admission: the whole prompt
// (cache reads and writes included) plus max_tokens x burndown.
func TestAdmittedTokens(t *testing.T) {
	u := Usage{InputTokens: 100, CacheReadInputTokens: 50, CacheWriteInputTokens: 10, OutputTokens: 7}
	if got := u.AdmittedTokens(200, 5); got != 160+1000 {
		t.Fatalf("AdmittedTokens = %d, want 1160", got)
	}
	if got := (Usage{InputTokens: -3}).AdmittedTokens(-1, 0); got != 0 {
		t.Fatalf("negative counts: %d, want 0", got)
	}
}
