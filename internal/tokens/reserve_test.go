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
