package tokens

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

func oneBlock(s string) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{user(text(s))}}
}

// benchEstimate measures Estimate of in: cold (a fresh cache per
// iteration; the shared cl100k encoder is already built) or cached.
func benchEstimate(b *testing.B, in any, size int, cached bool) {
	Default().CountTokens("warm up")
	e := newTest(b, Options{Tokenizer: Default()})
	b.SetBytes(int64(size))
	b.ReportAllocs()
	if cached {
		// Warm up until every block is in the cache (a history larger than
		// the per-call budget takes more than one estimate).
		for range 5 {
			if !e.Estimate(in).Fallback {
				break
			}
		}
		for b.Loop() {
			e.Estimate(in)
		}
		return
	}
	for b.Loop() {
		b.StopTimer()
		e = newTest(b, Options{Tokenizer: Default()})
		b.StartTimer()
		e.Estimate(in)
	}
}

func BenchmarkEstimate(b *testing.B) {
	for _, kind := range []string{"prose", "code", "json", "cjk"} {
		for _, size := range []int{1 << 10, 32 << 10, 1 << 20} {
			in := oneBlock(corpus(kind, size))
			for _, cached := range []bool{false, true} {
				name := fmt.Sprintf("%s/%dKB/cold", kind, size>>10)
				if cached {
					name = fmt.Sprintf("%s/%dKB/cached", kind, size>>10)
				}
				b.Run(name, func(b *testing.B) { benchEstimate(b, in, size, cached) })
			}
		}
	}
}

var adversarial = map[string]string{
	"Spaces":   strings.Repeat(" ", 1<<20),
	"Letter":   strings.Repeat("a", 1<<20),
	"Newlines": strings.Repeat("\n", 1<<20),
	"Bang":     strings.Repeat("!", 1<<20),
	"CJK":      strings.Repeat("的", 1<<20/3),
	"Letters":  strings.Repeat("abcdefghijklmnopqrstuvwxyz", 1<<20/26),
}

func BenchmarkEstimateAdversarialSpaces(b *testing.B)   { benchAdversarial(b, "Spaces") }
func BenchmarkEstimateAdversarialLetter(b *testing.B)   { benchAdversarial(b, "Letter") }
func BenchmarkEstimateAdversarialNewlines(b *testing.B) { benchAdversarial(b, "Newlines") }
func BenchmarkEstimateAdversarialCJK(b *testing.B)      { benchAdversarial(b, "CJK") }
func BenchmarkEstimateAdversarialLetters(b *testing.B)  { benchAdversarial(b, "Letters") }

func benchAdversarial(b *testing.B, name string) {
	s := adversarial[name]
	in := oneBlock(s)
	b.Run("cold", func(b *testing.B) { benchEstimate(b, in, len(s), false) })
	b.Run("cached", func(b *testing.B) { benchEstimate(b, in, len(s), true) })
	// The bounded tokenizer alone on the whole 1 MB (no estimator budget).
	b.Run("tokenizer", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		for b.Loop() {
			Default().CountTokens(s)
		}
	})
}

// BenchmarkEstimateHistory is a 100-block chat history (about 500 bytes per
// block), estimated again after one new turn, as every turn does.
func BenchmarkEstimateHistory(b *testing.B) {
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: history(100, 500)}
	b.Run("cached", func(b *testing.B) { benchEstimate(b, in, 0, true) })
	b.Run("cold", func(b *testing.B) { benchEstimate(b, in, 0, false) })
}

// BenchmarkEstimateInvokeBody is a 1 MB Anthropic InvokeModel body.
func BenchmarkEstimateInvokeBody(b *testing.B) {
	body := fmt.Appendf(nil, `{"max_tokens":100,"messages":[{"role":"user","content":%q}]}`, corpus("json", 1<<20))
	in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: body}
	b.Run("cold", func(b *testing.B) { benchEstimate(b, in, len(body), false) })
	b.Run("cached", func(b *testing.B) { benchEstimate(b, in, len(body), true) })
}

// TestAdversarialInputsCannotStall: the unguarded tokenizer needs minutes
// for 1 MB of one letter (12.8 min measured); the estimator must finish
// several such inputs, cold, as text blocks and as InvokeModel bodies, in
// seconds even under -race. They take about 2 s here under -race; the bound
// is 30 s so that a loaded CI machine does not fail it, and is still 25x
// below what one such input costs the unguarded tokenizer.
func TestAdversarialInputsCannotStall(t *testing.T) {
	Default().CountTokens("warm up")
	e := newTest(t, Options{Tokenizer: Default()})
	start := time.Now()
	for name, s := range adversarial {
		est := e.Estimate(oneBlock(s))
		if est.RawInputTokens <= 0 {
			t.Errorf("%s: estimate %d", name, est.RawInputTokens)
		}
		body := fmt.Appendf(nil, `{"messages":[{"role":"user","content":%q}]}`, s)
		e.Estimate(&bedrockruntime.InvokeModelInput{ModelId: aws.String(sonnet45), Body: body})
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("adversarial inputs took %v, want < 30s", d)
	}
}
