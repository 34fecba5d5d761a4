package tokens

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
)

const haiku35 = "anthropic.claude-3-5-haiku-20241022-v1:0"

// nestedToolResults is an Anthropic body whose one message holds tool_result
// blocks nested depth deep, each with a small text block: the shape that
// made estimation quadratic (issue 14, item 2).
func nestedToolResults(depth int) []byte {
	var b strings.Builder
	b.WriteString(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":`)
	for range depth {
		b.WriteString(`[{"type":"text","text":"hello world"},{"type":"tool_result","tool_use_id":"t","content":`)
	}
	b.WriteString(`"leaf"`)
	for range depth {
		b.WriteString(`}]`)
	}
	b.WriteString(`}]}`)
	return []byte(b.String())
}

// adversarialBodies returns InvokeModel bodies of about n bytes in shapes
// chosen to be expensive: deep nesting, many tiny blocks, one long string,
// a long run of one character, deep tool input.
func adversarialBodies(n int) map[string][]byte {
	wrap := func(content string) []byte {
		return []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,"messages":[{"role":"user","content":` + content + `}]}`)
	}
	tiny := `{"type":"text","text":"a"},`
	deepInput := strings.Repeat(`{"a":`, 9000) + `1` + strings.Repeat(`}`, 9000)
	depth := 0
	for len(nestedToolResults(depth)) < n && depth < 9000 {
		depth += 100
	}
	return map[string][]byte{
		"nested-tool-result": nestedToolResults(min(depth, 4900)),
		"tiny-blocks":        wrap(`[` + strings.Repeat(tiny, n/len(tiny)) + `{"type":"text","text":"z"}]`),
		"tiny-nested-blocks": wrap(`[{"type":"tool_result","tool_use_id":"t","content":[` + strings.Repeat(tiny, n/len(tiny)) + `{"type":"text","text":"z"}]}]`),
		"long-string":        wrap(`"` + strings.Repeat("lorem ipsum dolor ", n/18) + `"`),
		"one-char-run":       wrap(`"` + strings.Repeat("a", n) + `"`),
		"deep-tool-input":    wrap(`[{"type":"tool_use","id":"x","name":"f","input":` + deepInput + `}]`),
	}
}

// allocatedBytes returns the bytes allocated by one call of f.
func allocatedBytes(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestNestedToolResultsAreLinear: doubling the nesting of tool_result
// content doubles the work, not quadruples it. Work is measured as bytes
// allocated (deterministic, unlike time): the quadratic walk copied every
// level's content again.
func TestNestedToolResultsAreLinear(t *testing.T) {
	e := newTest(t, Options{})
	est := func(depth int) uint64 {
		in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku35), Body: nestedToolResults(depth)}
		e.Estimate(in) // warm the count cache
		return allocatedBytes(func() {
			if got := e.Estimate(in); got.Fallback || got.RawInputTokens < depth {
				t.Fatalf("depth %d: estimate %+v", depth, got)
			}
		})
	}
	small, large := est(500), est(2000)
	size := uint64(len(nestedToolResults(2000)))
	if large > 6*small || large > 64*size {
		t.Fatalf("depth 500: %d bytes allocated; depth 2000: %d (body %d bytes): not linear", small, large, size)
	}
}

// TestAdversarialShapesStayLinear: every adversarial shape is estimated from
// its structure (no fallback, except where noted) with allocations linear in
// its size.
func TestAdversarialShapesStayLinear(t *testing.T) {
	e := newTest(t, Options{})
	for name, body := range adversarialBodies(1 << 20) {
		in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku35), Body: body}
		if n := allocatedBytes(func() { e.Estimate(in) }); n > 64*uint64(len(body)) {
			t.Errorf("%s: %d bytes allocated for a %d-byte body", name, n, len(body))
		}
		if !json.Valid(body) {
			t.Errorf("%s: invalid JSON", name)
		}
	}
}

// BenchmarkEstimateAdversarialShapes estimates 1 MB bodies of every
// adversarial shape, cold (empty count cache, real tokenizer). The README's
// bound is 50 ms each.
func BenchmarkEstimateAdversarialShapes(b *testing.B) {
	for name, body := range adversarialBodies(1 << 20) {
		b.Run(fmt.Sprintf("%s/%dKB", name, len(body)>>10), func(b *testing.B) {
			in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku35), Body: body}
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				e, err := New(Options{})
				if err != nil {
					b.Fatal(err)
				}
				e.Estimate(in)
			}
		})
	}
}
