package tokens

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

// familyModels are model IDs of every InvokeModel request schema the
// estimator reads: each family's own, plus providers whose bodies take the
// generic path (AI21 Jamba and OpenAI gpt-oss: chat messages).
var familyModels = map[string]string{
	"anthropic": haiku35,
	"nova":      "amazon.nova-lite-v1:0",
	"titan":     "amazon.titan-text-express-v1",
	"cohere":    "cohere.command-r-v1:0",
	"llama":     "meta.llama3-8b-instruct-v1:0",
	"mistral":   "mistral.mistral-large-2402-v1:0",
	"ai21":      "ai21.jamba-1-5-large-v1:0",
	"openai":    "openai.gpt-oss-120b-1:0",
}

// familySchema builds a family's body around a prompt text (a JSON string
// literal), around n tiny blocks, and with a value v at the family's most
// nested free-form place (tool input, documents, content parts).
type familySchema struct {
	prompt func(lit string) string
	tiny   func(n int) string
	nested func(v string) string
}

var familySchemas = map[string]familySchema{
	"anthropic": {
		prompt: func(l string) string { return `{"max_tokens":100,"messages":[{"role":"user","content":` + l + `}]}` },
		tiny: func(n int) string {
			return `{"max_tokens":100,"messages":[{"role":"user","content":[` + strings.Repeat(`{"type":"text","text":"a"},`, n) + `{"type":"text","text":"z"}]}]}`
		},
		nested: func(v string) string {
			return `{"max_tokens":100,"messages":[{"role":"user","content":[{"type":"tool_use","id":"x","name":"f","input":` + v + `}]}]}`
		},
	},
	"nova": {
		prompt: func(l string) string {
			return `{"messages":[{"role":"user","content":[{"text":` + l + `}]}],"inferenceConfig":{"max_new_tokens":100}}`
		},
		tiny: func(n int) string {
			return `{"messages":[{"role":"user","content":[` + strings.Repeat(`{"text":"a"},`, n) + `{"text":"z"}]}],"inferenceConfig":{"max_new_tokens":100}}`
		},
		nested: func(v string) string {
			return `{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"x","content":[{"json":` + v + `}]}}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f"}}]}}`
		},
	},
	"titan": {
		prompt: func(l string) string { return `{"inputText":` + l + `,"textGenerationConfig":{"maxTokenCount":100}}` },
		tiny: func(n int) string {
			return `{"inputText":"a","textGenerationConfig":{"maxTokenCount":100,"stopSequences":[` + strings.Repeat(`"a",`, n) + `"z"]}}`
		},
		nested: func(v string) string {
			return `{"inputText":"a","textGenerationConfig":{"maxTokenCount":100,"x":` + v + `}}`
		},
	},
	"cohere": {
		prompt: func(l string) string { return `{"message":` + l + `,"max_tokens":100}` },
		tiny: func(n int) string {
			return `{"message":"a","max_tokens":100,"chat_history":[` + strings.Repeat(`{"role":"USER","message":"a"},`, n) + `{"role":"USER","message":"z"}]}`
		},
		nested: func(v string) string {
			return `{"message":"a","max_tokens":100,"documents":[` + v + `],"tools":[{"name":"f"}]}`
		},
	},
	"llama": {
		prompt: func(l string) string { return `{"prompt":` + l + `,"max_gen_len":100}` },
		tiny: func(n int) string {
			return `{"prompt":"a","max_gen_len":100,"images":[` + strings.Repeat(`"",`, n) + `""]}`
		},
		nested: func(v string) string { return `{"prompt":"a","max_gen_len":100,"x":` + v + `}` },
	},
	"mistral": {
		prompt: func(l string) string { return `{"messages":[{"role":"user","content":` + l + `}],"max_tokens":100}` },
		tiny: func(n int) string {
			return `{"messages":[` + strings.Repeat(`{"role":"user","content":"a"},`, n) + `{"role":"user","content":"z"}],"max_tokens":100}`
		},
		nested: func(v string) string {
			return `{"messages":[{"role":"user","content":[{"type":"text","text":"a","x":` + v + `}]}],"tools":[{"type":"function"}],"max_tokens":100}`
		},
	},
	"ai21": {
		prompt: func(l string) string { return `{"messages":[{"role":"user","content":` + l + `}],"max_tokens":100}` },
		tiny: func(n int) string {
			return `{"messages":[{"role":"user","content":[` + strings.Repeat(`{"type":"text","text":"a"},`, n) + `{"type":"text","text":"z"}]}],"max_tokens":100}`
		},
		nested: func(v string) string { return `{"messages":[{"role":"user","content":` + v + `}],"max_tokens":100}` },
	},
	"openai": {
		prompt: func(l string) string {
			return `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":` + l + `}],"max_completion_tokens":100}`
		},
		tiny: func(n int) string {
			return `{"messages":[{"role":"user","content":[` + strings.Repeat(`{"type":"image_url","image_url":{"url":"a"}},`, n) + `{"type":"text","text":"z"}]}],"max_completion_tokens":100}`
		},
		nested: func(v string) string {
			return `{"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{"name":"f","parameters":` + v + `}}],"max_completion_tokens":100}`
		},
	},
}

// familyShapes returns, for one family, bodies of about n bytes in
// adversarial shapes: long strings, one repeated character, escapes,
// invalid UTF-8, many tiny blocks, nesting just under and just over
// encoding/json's depth limit, many keys, duplicate keys and huge numbers.
func familyShapes(fam string, n int) map[string][]byte {
	s := familySchemas[fam]
	fixed := len(s.prompt(`""`))
	deep := func(depth int) string {
		return strings.Repeat(`{"a":[`, depth/2) + `1` + strings.Repeat(`]}`, depth/2)
	}
	wide := func() string {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		b.WriteString(`"z":0}`)
		return b.String()
	}
	dupKeys := func() string {
		p := s.prompt(`"a"`)
		field := p[1:strings.IndexByte(p, ',')] // the body's first member
		return "{" + strings.Repeat(field+",", (n-fixed)/(len(field)+1)) + p[1:]
	}
	bodies := map[string]string{
		"long-string":   s.prompt(`"` + strings.Repeat("lorem ipsum dolor ", (n-fixed)/18) + `"`),
		"one-char-run":  s.prompt(`"` + strings.Repeat("a", n-fixed) + `"`),
		"escapes":       s.prompt(`"` + strings.Repeat(`\u00e9\n`, (n-fixed)/8) + `"`),
		"invalid-utf8":  s.prompt(`"` + strings.Repeat("a\xff\xfe", (n-fixed)/3) + `"`),
		"tiny-blocks":   s.tiny((n - fixed) / 30),
		"deep-9000":     s.nested(deep(9000)),
		"deep-20000":    s.nested(deep(20000)),
		"deep-arrays":   s.nested(strings.Repeat(`[`, 9990) + strings.Repeat(`]`, 9990)),
		"many-keys":     s.nested(wide()),
		"duplicate-key": dupKeys(),
		"huge-number":   s.nested(strings.Repeat("9", n-fixed)),
		"huge-exponent": s.nested("1e" + strings.Repeat("9", n-fixed)),
	}
	out := make(map[string][]byte, len(bodies))
	for k, v := range bodies {
		out[k] = []byte(v)
	}
	return out
}

// sortedKeys returns m's keys in order (stable subtest names).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestFamilyShapesStayLinear: every family's adversarial bodies (256 KB
// here; BenchmarkFamilyShapes times 1 MB) are estimated with allocations
// linear in their size, and an estimate always
// comes back (never a failure, never zero).
func TestFamilyShapesStayLinear(t *testing.T) {
	e := newTest(t, Options{})
	for _, fam := range sortedKeys(familySchemas) {
		shapes := familyShapes(fam, 256<<10)
		for _, shape := range sortedKeys(shapes) {
			body := shapes[shape]
			in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(familyModels[fam]), Body: body}
			var est Estimate
			if n := allocatedBytes(func() { est = e.Estimate(in) }); n > 64*uint64(len(body)) {
				t.Errorf("%s/%s: %d bytes allocated for a %d-byte body", fam, shape, n, len(body))
			}
			if est.RawInputTokens <= 0 || est.ReserveTokens() <= 0 {
				t.Errorf("%s/%s: estimate %+v", fam, shape, est)
			}
		}
	}
}

// BenchmarkFamilyShapes estimates 1 MB bodies of every adversarial shape
// for every InvokeModel family, cold (a fresh estimator per iteration). The
// README's bound is 50 ms each.
func BenchmarkFamilyShapes(b *testing.B) {
	Default().CountTokens("warm up") // build the shared encoder outside the timings
	for _, fam := range sortedKeys(familySchemas) {
		shapes := familyShapes(fam, 1<<20)
		for _, shape := range sortedKeys(shapes) {
			body := shapes[shape]
			b.Run(fam+"/"+shape, func(b *testing.B) {
				in := &bedrockruntime.InvokeModelInput{ModelId: aws.String(familyModels[fam]), Body: body}
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
}

// converseShapes are Converse inputs whose tool input documents have the
// adversarial shapes (decoded from JSON, as an application holding a
// model's tool call would have them), plus many tiny text blocks.
func converseShapes(t testing.TB, n int) map[string]*bedrockruntime.ConverseInput {
	t.Helper()
	out := map[string]*bedrockruntime.ConverseInput{}
	for _, shape := range []string{"deep-9000", "deep-arrays", "many-keys", "long-string", "escapes"} {
		body := familyShapes("anthropic", n)[shape]
		var v struct {
			Messages []struct {
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		var input any
		if err := json.Unmarshal(v.Messages[0].Content, &input); err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		out[shape] = &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{{
			Role:    types.ConversationRoleAssistant,
			Content: []types.ContentBlock{&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("t"), Name: aws.String("f"), Input: document.NewLazyDocument(input)}}},
		}}}
	}
	blocks := make([]types.ContentBlock, n/16)
	for i := range blocks {
		blocks[i] = text("a")
	}
	out["tiny-blocks"] = &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{user(blocks...)}}
	return out
}

// BenchmarkConverseShapes estimates Converse inputs of about 1 MB of
// adversarial shapes, cold.
func BenchmarkConverseShapes(b *testing.B) {
	Default().CountTokens("warm up")
	shapes := converseShapes(b, 1<<20)
	for _, shape := range sortedKeys(shapes) {
		in := shapes[shape]
		b.Run(shape, func(b *testing.B) {
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

// TestConverseDocumentsStayLinear: a Converse tool input of any shape is
// estimated in time linear in its size (allocations are the proxy), a
// large one from its strings (Fallback), a small one as its JSON text, as
// before.
func TestConverseDocumentsStayLinear(t *testing.T) {
	e := newTest(t, Options{})
	for name, in := range converseShapes(t, 1<<20) {
		var est Estimate
		if n := allocatedBytes(func() { est = e.Estimate(in) }); n > 64<<20 {
			t.Errorf("%s: %d bytes allocated", name, n)
		}
		if est.RawInputTokens <= 0 {
			t.Errorf("%s: estimate %+v", name, est)
		}
	}
	small := func(input any) Estimate {
		return e.Estimate(&bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{{
			Role:    types.ConversationRoleAssistant,
			Content: []types.ContentBlock{&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("t"), Name: aws.String("f"), Input: document.NewLazyDocument(input)}}},
		}}})
	}
	a := small(map[string]any{"city": "Paris", "days": 3.0, "tags": []any{"a", "b"}})
	b := small(map[string]any{"city": "Paris", "days": 3.0, "tags": []any{"a", "b"}, "more": strings.Repeat("x", 10)})
	if a.Fallback || b.InputTokens <= a.InputTokens {
		t.Errorf("small documents: %+v, %+v", a, b)
	}
	wide := map[string]any{}
	for i := range 2 * maxDocNodes {
		wide[fmt.Sprint("key", i)] = float64(i)
	}
	w1, w2 := small(wide), small(wide)
	if !w1.Fallback || w1.RawInputTokens != w2.RawInputTokens || w1.RawInputTokens < 2*maxDocNodes*3 {
		t.Errorf("a wide document: %+v then %+v", w1, w2)
	}
}
