package tokens

import (
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
)

// TestHostileMaxTokensCannotOverflow: a max_tokens of any size, on any
// burndown, gives a reservation in (0, MaxReserveTokens]: it never wraps
// negative (issue 14, item 1).
func TestHostileMaxTokensCannotOverflow(t *testing.T) {
	e := newTest(t, Options{})
	models := []string{"anthropic.claude-3-5-haiku-20241022-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0", "meta.llama3-8b-instruct-v1:0"}
	for _, model := range models {
		for _, mt := range []string{"9223372036854775807", "2000000000000000000", "1844674407370955161", "4294967296", "-9223372036854775808", "1e300", "2147483648"} {
			body := fmt.Sprintf(`{"messages":[{"role":"user","content":"hi"}],"prompt":"hi","max_tokens":%s,"max_gen_len":%s}`, mt, mt)
			est := e.Estimate(&bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: []byte(body)})
			r := est.ReserveTokens()
			if r <= 0 || r > MaxReserveTokens || est.MaxTokens > MaxOutputTokens || est.MaxTokens < 0 {
				t.Errorf("%s max_tokens %s: reserve %d, MaxTokens %d", model, mt, r, est.MaxTokens)
			}
		}
	}
	for _, e := range []Estimate{
		{InputTokens: math.MaxInt, MaxTokens: math.MaxInt, Burndown: 5},
		{InputTokens: -5, MaxTokens: -7, Burndown: math.NaN()},
		{InputTokens: 1, MaxTokens: 1, Burndown: math.Inf(1)},
		{InputTokens: 1, MaxTokens: MaxOutputTokens, Burndown: 1e300},
	} {
		if r := e.ReserveTokens(); r < 0 || r > MaxReserveTokens {
			t.Errorf("%+v: reserve %d", e, r)
		}
	}
	u := Usage{InputTokens: math.MaxInt64, OutputTokens: math.MaxInt64, CacheWriteInputTokens: math.MaxInt64}
	if s := u.SettledTokens(5); s != MaxReserveTokens {
		t.Errorf("settled %d, want saturation at %d", s, MaxReserveTokens)
	}
	h := http.Header{}
	h.Set(HeaderInputTokens, "9223372036854775807")
	h.Set(HeaderOutputTokens, "9223372036854775807")
	if u, ok := UsageFromHeaders(h); !ok || u.SettledTokens(5) != MaxReserveTokens {
		t.Errorf("headers: %+v %v", u, ok)
	}
}

func TestNewRejectsAbsurdOutputOptions(t *testing.T) {
	for _, o := range []Options{
		{Burndown: map[string]float64{"anthropic": 1e300}},
		{Burndown: map[string]float64{"anthropic": math.NaN()}},
		{DefaultMaxTokens: map[string]int{"anthropic": math.MaxInt}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}
