package tokens

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
)

const sonnet45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

// wordTok counts whitespace-separated words: predictable expectations.
var wordTok = TokenizerFunc(func(s string) int { return len(strings.Fields(s)) })

func newTest(t testing.TB, o Options) *Estimator {
	t.Helper()
	if o.Tokenizer == nil {
		o.Tokenizer = wordTok
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func text(s string) types.ContentBlock { return &types.ContentBlockMemberText{Value: s} }

func user(blocks ...types.ContentBlock) types.Message {
	return types.Message{Role: types.ConversationRoleUser, Content: blocks}
}

func TestEstimateConverseShapes(t *testing.T) {
	img := pngBytes(t, 1000, 1000) // Claude: 1000*1000/750 = 1334
	schema := document.NewLazyDocument(map[string]any{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}})
	tests := []struct {
		name     string
		model    string
		msgs     []types.Message
		system   []types.SystemContentBlock
		tools    *types.ToolConfiguration
		want     int // raw input tokens
		fallback bool
	}{
		{name: "one text", model: sonnet45, msgs: []types.Message{user(text("a b c"))},
			want: requestOverhead + messageOverhead + 3},
		{name: "system and cache point", model: sonnet45,
			system: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "be brief"}, &types.SystemContentBlockMemberCachePoint{}},
			msgs:   []types.Message{user(text("x"), &types.ContentBlockMemberCachePoint{})},
			want:   requestOverhead + 2 + messageOverhead + 1},
		{name: "claude image", model: sonnet45,
			msgs: []types.Message{user(&types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng, Source: &types.ImageSourceMemberBytes{Value: img}}})},
			want: requestOverhead + messageOverhead + 1334},
		{name: "nova image", model: "amazon.nova-lite-v1:0",
			msgs: []types.Message{user(&types.ContentBlockMemberImage{Value: types.ImageBlock{Format: types.ImageFormatPng, Source: &types.ImageSourceMemberBytes{Value: img}}})},
			want: requestOverhead + messageOverhead + 2000},
		{name: "s3 image assumes the maximum", model: sonnet45,
			msgs: []types.Message{user(&types.ContentBlockMemberImage{Value: types.ImageBlock{Source: &types.ImageSourceMemberS3Location{}}})},
			want: requestOverhead + messageOverhead + claudeMaxImageTokens},
		{name: "text document", model: sonnet45,
			msgs: []types.Message{user(&types.ContentBlockMemberDocument{Value: types.DocumentBlock{Name: aws.String("notes"), Format: types.DocumentFormatTxt, Source: &types.DocumentSourceMemberBytes{Value: []byte("one two three")}}})},
			want: requestOverhead + messageOverhead + 1 + 3},
		{name: "pdf by pages", model: sonnet45,
			msgs: []types.Message{user(&types.ContentBlockMemberDocument{Value: types.DocumentBlock{Name: aws.String("r"), Format: types.DocumentFormatPdf, Source: &types.DocumentSourceMemberBytes{Value: []byte("%PDF /Type /Pages /Type /Page x /Type /Page y /Type/Page")}}})},
			want: requestOverhead + messageOverhead + 1 + 3*pdfPageTokens},
		{name: "tools with schema (claude tool prompt)", model: sonnet45,
			tools: &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("search"), Description: aws.String("find things"), InputSchema: &types.ToolInputSchemaMemberJson{Value: schema}}}}},
			msgs:  []types.Message{user(text("hi"))},
			want:  requestOverhead + 1 + 2 + 1 + claudeToolPromptAuto + messageOverhead + 1},
		{name: "tools on nova: no claude prompt", model: "amazon.nova-pro-v1:0",
			tools: &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("search")}}}, ToolChoice: &types.ToolChoiceMemberAny{}},
			want:  requestOverhead + 1},
		{name: "tool use and result", model: sonnet45,
			msgs: []types.Message{
				{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{ToolUseId: aws.String("t1"), Name: aws.String("search"), Input: document.NewLazyDocument(map[string]any{"q": "x"})}}}},
				user(&types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{ToolUseId: aws.String("t1"), Content: []types.ToolResultContentBlock{
					&types.ToolResultContentBlockMemberText{Value: "found two"},
					&types.ToolResultContentBlockMemberJson{Value: document.NewLazyDocument(map[string]any{"n": 2})},
				}}}),
			},
			want: requestOverhead + 2*messageOverhead + 1 + 1 + 1 + 1 + 2 + 1},
		{name: "reasoning", model: sonnet45,
			msgs: []types.Message{{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{
				&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{Value: types.ReasoningTextBlock{Text: aws.String("think think"), Signature: aws.String("sig")}}},
				&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberRedactedContent{Value: make([]byte, 40)}},
			}}},
			want: requestOverhead + messageOverhead + 2 + 10},
		{name: "video and audio", model: "amazon.nova-pro-v1:0",
			msgs: []types.Message{user(&types.ContentBlockMemberVideo{}, &types.ContentBlockMemberAudio{})},
			want: requestOverhead + messageOverhead + videoTokens + audioTokens},
		{name: "guard, citations, search result", model: sonnet45,
			msgs: []types.Message{user(
				&types.ContentBlockMemberGuardContent{Value: &types.GuardrailConverseContentBlockMemberText{Value: types.GuardrailConverseTextBlock{Text: aws.String("g")}}},
				&types.ContentBlockMemberCitationsContent{Value: types.CitationsContentBlock{Content: []types.CitationGeneratedContent{&types.CitationGeneratedContentMemberText{Value: "c c"}}}},
				&types.ContentBlockMemberSearchResult{Value: types.SearchResultBlock{Title: aws.String("t"), Source: aws.String("s"), Content: []types.SearchResultContentBlock{{Text: aws.String("r")}}}},
			)},
			want: requestOverhead + messageOverhead + 1 + 2 + 3},
		{name: "s3 document falls back", model: sonnet45,
			msgs: []types.Message{user(&types.ContentBlockMemberDocument{Value: types.DocumentBlock{Source: &types.DocumentSourceMemberS3Location{}}})},
			want: requestOverhead + messageOverhead + pdfPageTokens, fallback: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTest(t, Options{})
			for _, in := range []any{
				&bedrockruntime.ConverseInput{ModelId: aws.String(tt.model), Messages: tt.msgs, System: tt.system, ToolConfig: tt.tools},
				&bedrockruntime.ConverseStreamInput{ModelId: aws.String(tt.model), Messages: tt.msgs, System: tt.system, ToolConfig: tt.tools},
			} {
				est := e.Estimate(in)
				if est.RawInputTokens != tt.want || est.Fallback != tt.fallback {
					t.Errorf("%T: raw %d fallback %v, want %d %v", in, est.RawInputTokens, est.Fallback, tt.want, tt.fallback)
				}
				if est.Family != FamilyOf(tt.model) {
					t.Errorf("family %q", est.Family)
				}
			}
		})
	}
}

func TestEstimateOutputSide(t *testing.T) {
	e := newTest(t, Options{Burndown: map[string]float64{"nova": 2}, DefaultMaxTokens: map[string]int{"amazon.nova-pro-v1:0": 700}})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{user(text("a"))}}
	est := e.Estimate(in)
	if est.MaxTokens != 64000 || est.MaxTokensExplicit || est.Burndown != 5 {
		t.Errorf("default: %+v", est)
	}
	in.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(1000)}
	est = e.Estimate(in)
	if est.MaxTokens != 1000 || !est.MaxTokensExplicit {
		t.Errorf("explicit: %+v", est)
	}
	if got, want := est.ReserveTokens(), int64(est.reserveInput)+5000; got != want || est.reserveInput < est.InputTokens {
		t.Errorf("ReserveTokens = %d, want %d", got, want)
	}
	// Overrides by family (burndown) and by base model ID reached through a profile.
	est = e.Estimate(&bedrockruntime.ConverseInput{ModelId: aws.String("us.amazon.nova-pro-v1:0")})
	if est.Burndown != 2 || est.MaxTokens != 700 {
		t.Errorf("overrides: %+v", est)
	}
}

func TestReserveTokensRoundsUp(t *testing.T) {
	est := Estimate{InputTokens: 10, MaxTokens: 3, Burndown: 1.5}
	if got := est.ReserveTokens(); got != 15 { // 10 + ceil(4.5)
		t.Errorf("ReserveTokens = %d, want 15", got)
	}
	est.Operation = OpCountTokens
	if got := est.ReserveTokens(); got != 0 {
		t.Errorf("CountTokens reserve = %d, want 0", got)
	}
}

func b64png(t *testing.T, w, h int) string {
	return base64.StdEncoding.EncodeToString(pngBytes(t, w, h))
}

func TestEstimateInvokeBodies(t *testing.T) {
	img := b64png(t, 1000, 1000)
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF /Type /Page"))
	ro, mo := requestOverhead, messageOverhead
	tests := []struct {
		name     string
		model    string
		body     string
		want     int
		max      int
		explicit bool
		fallback bool
	}{
		{"anthropic messages", sonnet45,
			`{"anthropic_version":"bedrock-2023-05-31","max_tokens":300,"system":"be kind","messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":[{"type":"text","text":"hi"}]}]}`,
			ro + 2 + 2*mo + 2 + 1, 300, true, false},
		{"anthropic blocks", sonnet45,
			`{"max_tokens":10,"system":[{"type":"text","text":"s"}],"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"any"},"messages":[{"role":"user","content":[` +
				`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"` + img + `"}},` +
				`{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"` + pdf + `"}},` +
				`{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r r"}]},` +
				`{"type":"thinking","thinking":"hm","signature":"x"}]}]}`,
			ro + 1 + 1 + claudeToolPromptAny + mo + 1334 + pdfPageTokens + 1 + 2 + 1, 10, true, false},
		{"anthropic legacy prompt", "anthropic.claude-v2:1", `{"prompt":"\n\nHuman: hi\n\nAssistant:","max_tokens_to_sample":50}`, ro + 3, 50, true, false},
		{"anthropic no max_tokens", sonnet45, `{"messages":[{"role":"user","content":"x"}]}`, ro + mo + 1, 64000, false, false},
		{"nova", "us.amazon.nova-lite-v1:0",
			`{"schemaVersion":"messages-v1","system":[{"text":"sys"}],"messages":[{"role":"user","content":[{"text":"a b"},{"image":{"format":"png","source":{"bytes":"` + img + `"}}},{"document":{"format":"pdf","name":"d","source":{"bytes":"` + pdf + `"}}}]}],"inferenceConfig":{"max_new_tokens":77}}`,
			ro + 1 + mo + 2 + 2000 + 1 + pdfPageTokens, 77, true, false},
		{"nova maxTokens", "amazon.nova-micro-v1:0", `{"messages":[{"role":"user","content":[{"text":"x"}]}],"inferenceConfig":{"maxTokens":5}}`, ro + mo + 1, 5, true, false},
		{"titan", "amazon.titan-text-express-v1", `{"inputText":"one two","textGenerationConfig":{"maxTokenCount":100}}`, ro + 2, 100, true, false},
		{"titan default", "amazon.titan-text-lite-v1", `{"inputText":"one"}`, ro + 1, 512, false, false},
		{"titan embed", "amazon.titan-embed-text-v2:0", `{"inputText":"one"}`, ro + 1, 0, false, false},
		{"llama", "meta.llama3-8b-instruct-v1:0", `{"prompt":"<|begin_of_text|> hi","max_gen_len":64}`, ro + 2, 64, true, false},
		{"mistral prompt", "mistral.mistral-7b-instruct-v0:2", `{"prompt":"<s>[INST] hi [/INST]","max_tokens":20}`, ro + 3, 20, true, false},
		{"mistral chat", "mistral.mistral-large-2407-v1:0", `{"messages":[{"role":"user","content":"a b c"}]}`, ro + mo + 3, 8192, false, false},
		{"cohere chat", "cohere.command-r-v1:0", `{"message":"q","preamble":"p","chat_history":[{"role":"USER","message":"m1"}],"documents":[{"t":"d"}],"max_tokens":9}`, ro + 1 + 1 + mo + 1 + mo + 1, 9, true, false},
		{"cohere embed", "cohere.embed-english-v3", `{"texts":["a","b c"],"input_type":"search_document"}`, ro + 3, 0, false, false},
		{"openai-style unknown", "openai.gpt-oss-20b-1:0", `{"messages":[{"role":"user","content":[{"type":"text","text":"x y"}]}],"max_completion_tokens":40}`, ro + mo + 2, 40, true, false},
		{"malformed json", sonnet45, `{"messages":[`, ro + HeuristicTokens(`{"messages":[`), 64000, false, true},
		{"wrong shape", sonnet45, `{"foo":1}`, ro + HeuristicTokens(`{"foo":1}`), 64000, false, true},
		{"wrong content type", sonnet45, `{"messages":[{"role":"user","content":7}]}`, ro + HeuristicTokens(`{"messages":[{"role":"user","content":7}]}`), 64000, false, true},
		{"titan missing text", "amazon.titan-text-express-v1", `{"prompt":"x"}`, ro + HeuristicTokens(`{"prompt":"x"}`), 512, false, true},
		{"empty body", "meta.llama3-8b-instruct-v1:0", ``, ro, 512, false, true},
		{"not json", "cohere.command-r-v1:0", `hello`, ro + HeuristicTokens("hello"), 4000, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTest(t, Options{})
			for _, in := range []any{
				&bedrockruntime.InvokeModelInput{ModelId: aws.String(tt.model), Body: []byte(tt.body)},
				&bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(tt.model), Body: []byte(tt.body)},
			} {
				est := e.Estimate(in)
				if est.RawInputTokens != tt.want || est.MaxTokens != tt.max || est.MaxTokensExplicit != tt.explicit || est.Fallback != tt.fallback {
					t.Errorf("%T: got raw %d max %d explicit %v fallback %v; want %d %d %v %v",
						in, est.RawInputTokens, est.MaxTokens, est.MaxTokensExplicit, est.Fallback, tt.want, tt.max, tt.explicit, tt.fallback)
				}
			}
			if tt.fallback && e.Stats().UnparseableBodies != 2 {
				t.Errorf("UnparseableBodies = %d, want 2", e.Stats().UnparseableBodies)
			}
		})
	}
}

func TestEstimateOddInputs(t *testing.T) {
	e := newTest(t, Options{})
	for _, in := range []any{nil, "text", 42, (*bedrockruntime.ConverseInput)(nil), &bedrockruntime.ConverseInput{}} {
		est := e.Estimate(in) // must not panic
		if est.RawInputTokens < 0 {
			t.Errorf("%T: negative estimate", in)
		}
	}
	if est := e.Estimate("text"); !est.Fallback || est.Family != Unknown {
		t.Errorf("unknown input: %+v", est)
	}
	ct := &bedrockruntime.CountTokensInput{ModelId: aws.String(sonnet45), Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: []types.Message{user(text("a b"))}}}}
	est := e.Estimate(ct)
	if est.Operation != OpCountTokens || est.RawInputTokens != requestOverhead+messageOverhead+2 || est.ReserveTokens() != 0 {
		t.Errorf("CountTokens input: %+v", est)
	}
	ct.Input = &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: []byte(`{"messages":[{"role":"user","content":"a"}]}`)}}
	if est := e.Estimate(ct); est.RawInputTokens != requestOverhead+messageOverhead+1 {
		t.Errorf("CountTokens invoke input: %+v", est)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Burndown: map[string]float64{"anthropic": 0}},
		{Burndown: map[string]float64{"x": -1}},
		{DefaultMaxTokens: map[string]int{"x": -1}},
		{MaxTokenizeBytes: -1},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		}
	}
}

func history(n, blockBytes int) []types.Message {
	msgs := make([]types.Message, n)
	for i := range msgs {
		msgs[i] = user(text(fmt.Sprintf("turn %d: %s", i, corpus("prose", blockBytes))))
	}
	return msgs
}

func TestCacheCountsEachBlockOnce(t *testing.T) {
	var calls int
	var mu sync.Mutex
	tok := TokenizerFunc(func(s string) int { mu.Lock(); calls++; mu.Unlock(); return len(s) })
	e := newTest(t, Options{Tokenizer: tok})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: history(10, 100)}
	first := e.Estimate(in)
	in.Messages = append(in.Messages, user(text("new turn")))
	second := e.Estimate(in)
	if calls != 11 {
		t.Errorf("tokenizer called %d times, want 11 (10 blocks + 1 new)", calls)
	}
	if second.RawInputTokens != first.RawInputTokens+messageOverhead+len("new turn") {
		t.Errorf("second %d, first %d", second.RawInputTokens, first.RawInputTokens)
	}
	if s := e.Stats(); s.CacheHits != 10 || s.CacheMisses != 11 {
		t.Errorf("stats %+v", s)
	}
}

func TestBudgetBoundsTokenizerWork(t *testing.T) {
	var fed int
	var mu sync.Mutex
	tok := TokenizerFunc(func(s string) int { mu.Lock(); fed += len(s); mu.Unlock(); return len(s) / 4 })
	e := newTest(t, Options{Tokenizer: tok, MaxTokenizeBytes: 16 << 10})
	// 64 blocks of 1 KB: 16 are counted, the rest estimated from bytes.
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: history(64, 1000)}
	est := e.Estimate(in)
	if fed > 16<<10 {
		t.Errorf("tokenizer fed %d bytes, budget 16 KiB", fed)
	}
	if !est.Fallback {
		t.Error("Fallback not set over budget")
	}
	// The history converges to exact counts over later turns.
	for range 4 {
		est = e.Estimate(in)
	}
	if est.Fallback {
		t.Error("still Fallback after the history was counted")
	}
	// One 1 MB block: extrapolated from samples.
	fed = 0
	big := corpus("prose", 1<<20)
	est = e.Estimate(&bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: []types.Message{user(text(big))}})
	if fed != sampleCount*sampleBytes || !est.Fallback {
		t.Errorf("fed %d, fallback %v", fed, est.Fallback)
	}
	if want := len(big) / 4; est.RawInputTokens < want || est.RawInputTokens > want*11/10 {
		t.Errorf("sampled estimate %d, want about %d", est.RawInputTokens, want)
	}
}

func TestUsageParsing(t *testing.T) {
	u, ok := UsageFromConverse(&types.TokenUsage{InputTokens: aws.Int32(10), OutputTokens: aws.Int32(20), TotalTokens: aws.Int32(30), CacheReadInputTokens: aws.Int32(5), CacheWriteInputTokens: aws.Int32(7)})
	if !ok || u != (Usage{10, 20, 5, 7}) {
		t.Errorf("UsageFromConverse = %+v %v", u, ok)
	}
	if _, ok := UsageFromConverse(nil); ok {
		t.Error("nil usage ok")
	}
	if _, ok := UsageFromConverse(&types.TokenUsage{InputTokens: aws.Int32(1)}); ok {
		t.Error("usage without output ok")
	}
	if got := u.SettledTokens(5); got != 10+7+100 {
		t.Errorf("SettledTokens = %d", got)
	}
	if got := (Usage{OutputTokens: 3}).SettledTokens(1.5); got != 5 {
		t.Errorf("SettledTokens rounds %d", got)
	}
	if u.PromptTokens() != 22 {
		t.Errorf("PromptTokens = %d", u.PromptTokens())
	}

	h := http.Header{}
	h.Set(HeaderInputTokens, "12")
	h.Set(HeaderOutputTokens, "34")
	h.Set(HeaderCacheWriteTokens, "5")
	if u, ok := UsageFromHeaders(h); !ok || u != (Usage{12, 34, 0, 5}) {
		t.Errorf("UsageFromHeaders = %+v %v", u, ok)
	}
	h.Set(HeaderOutputTokens, "x")
	if _, ok := UsageFromHeaders(h); ok {
		t.Error("bad header ok")
	}

	chunk := []byte(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":9,"outputTokenCount":8,"invocationLatency":100,"firstByteLatency":50,"cacheReadInputTokenCount":2}}`)
	if u, ok := UsageFromInvocationMetrics(chunk); !ok || u != (Usage{9, 8, 2, 0}) {
		t.Errorf("UsageFromInvocationMetrics = %+v %v", u, ok)
	}
	for _, c := range []string{`{"type":"content_block_delta"}`, `{"amazon-bedrock-invocationMetrics":{}}`, `{"amazon-bedrock-invocationMetrics":`} {
		if _, ok := UsageFromInvocationMetrics([]byte(c)); ok {
			t.Errorf("%s: ok", c)
		}
	}
}

func TestCalibrationConverges(t *testing.T) {
	e := newTest(t, Options{})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: history(1, 400)}
	est := e.Estimate(in)
	if est.InputTokens <= est.RawInputTokens {
		t.Errorf("no warm-up margin: %+v", est)
	}
	truth := int64(float64(est.RawInputTokens) * 1.3)
	for i := range 20 {
		actual := truth
		if i%5 == 0 {
			actual *= 50 // outliers do not move the median
		}
		e.Observe(e.Estimate(in), Usage{InputTokens: actual - 10, CacheReadInputTokens: 10})
	}
	ratio, n := e.Calibration(Anthropic)
	if n != 20 || ratio < 1.29 || ratio > 1.31 {
		t.Errorf("ratio %v after %d samples, want 1.3", ratio, n)
	}
	est = e.Estimate(in)
	if d := float64(int64(est.InputTokens)-truth) / float64(truth); d < -0.01 || d > 0.01 {
		t.Errorf("calibrated %d vs truth %d", est.InputTokens, truth)
	}
	o := e.Observe(est, Usage{InputTokens: truth})
	if !o.Used || o.Error < -0.01 || o.Error > 0.01 || o.Family != Anthropic {
		t.Errorf("observation %+v", o)
	}
	// Bounded: an absurd ratio is clamped.
	for range 100 {
		e.Observe(Estimate{Family: Nova, RawInputTokens: 100, InputTokens: 100}, Usage{InputTokens: 1e9})
	}
	if r, _ := e.Calibration(Nova); r != maxRatio {
		t.Errorf("nova ratio %v, want clamp %v", r, maxRatio)
	}
	// Fallback, exact and tiny estimates are not used.
	for _, est := range []Estimate{{Family: Titan, RawInputTokens: 100, Fallback: true}, {Family: Titan, RawInputTokens: 100, Exact: true}, {Family: Titan, RawInputTokens: 3}} {
		if o := e.Observe(est, Usage{InputTokens: 200}); o.Used {
			t.Errorf("%+v used", est)
		}
	}
	if _, n := e.Calibration(Titan); n != 0 {
		t.Errorf("titan samples %d", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: history(5, 300)}
	want := e.Estimate(in).RawInputTokens
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				est := e.Estimate(in)
				if est.RawInputTokens != want {
					t.Errorf("goroutine %d: %d != %d", g, est.RawInputTokens, want)
				}
				e.Observe(est, Usage{InputTokens: int64(want + i)})
				e.Calibration(Anthropic)
			}
		})
	}
	wg.Wait()
	if _, n := e.Calibration(Anthropic); n != 400 {
		t.Errorf("samples %d, want 400", n)
	}
}

type fakeCounter struct {
	mu    sync.Mutex
	calls int
	err   error
	model string
	ctx   context.Context
}

func (f *fakeCounter) CountTokens(ctx context.Context, in *bedrockruntime.CountTokensInput, _ ...func(*bedrockruntime.Options)) (*bedrockruntime.CountTokensOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.model, f.ctx = aws.ToString(in.ModelId), ctx
	if f.err != nil {
		return nil, f.err
	}
	return &bedrockruntime.CountTokensOutput{InputTokens: aws.Int32(777)}, nil
}

func TestEstimateContextCountTokens(t *testing.T) {
	fc := &fakeCounter{}
	e := newTest(t, Options{CountTokens: fc})
	in := &bedrockruntime.ConverseInput{ModelId: aws.String("us.anthropic.claude-sonnet-4-20250514-v1:0"), Messages: history(2, 50)}
	est := e.EstimateContext(context.Background(), in)
	if !est.Exact || est.InputTokens != 777 || est.RawInputTokens != 777 {
		t.Errorf("exact estimate %+v", est)
	}
	if fc.model != "anthropic.claude-sonnet-4-20250514-v1:0" || !IsEstimatorCall(fc.ctx) {
		t.Errorf("called with model %q, marked ctx %v", fc.model, IsEstimatorCall(fc.ctx))
	}
	if _, ok := fc.ctx.Deadline(); !ok {
		t.Error("no timeout on the CountTokens call")
	}
	e.EstimateContext(context.Background(), in)
	if fc.calls != 1 {
		t.Errorf("identical request counted %d times", fc.calls)
	}
	in.Messages = append(in.Messages, user(text("more")))
	e.EstimateContext(context.Background(), in)
	if fc.calls != 2 {
		t.Errorf("changed request: %d calls", fc.calls)
	}
	// Unsupported models, marked contexts and errors use the estimate.
	if est := e.EstimateContext(context.Background(), &bedrockruntime.ConverseInput{ModelId: aws.String("amazon.nova-pro-v1:0")}); est.Exact {
		t.Error("nova counted exactly")
	}
	if est := e.EstimateContext(WithEstimatorCall(context.Background()), &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45)}); est.Exact {
		t.Error("marked ctx counted")
	}
	fc.err = errors.New("throttled")
	in.Messages = append(in.Messages, user(text("again")))
	if est := e.EstimateContext(context.Background(), in); est.Exact || est.RawInputTokens == 777 {
		t.Errorf("error: %+v", est)
	}
	if s := e.Stats(); s.CountTokensCalls != 3 || s.CountTokensErrors != 1 {
		t.Errorf("stats %+v", s)
	}
	body := []byte(`{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)
	fc.err = nil
	if est := e.EstimateContext(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String("anthropic.claude-3-5-haiku-20241022-v1:0"), Body: body}); !est.Exact || est.MaxTokens != 5 {
		t.Errorf("invoke exact %+v", est)
	}
}

func TestImageRules(t *testing.T) {
	tests := []struct {
		fam  Family
		w, h int
		want int
	}{
		{Anthropic, 1000, 1000, 1334},
		{Anthropic, 200, 200, 54},
		{Anthropic, 4000, 3000, 1600}, // scaled to 1568x1176 = 2459, capped
		{Anthropic, 0, 0, 1600},
		{Nova, 900, 450, 810},
		{Nova, 1300, 1300, 2600},
		{Nova, 0, 0, 2600},
	}
	for _, tt := range tests {
		if got := imageTokens(tt.fam, tt.w, tt.h); got != tt.want {
			t.Errorf("imageTokens(%s, %d, %d) = %d, want %d", tt.fam, tt.w, tt.h, got, tt.want)
		}
	}
	webp := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\xff\x01\x00\xc7\x00\x00")
	if w, h := imageSize(webp); w != 512 || h != 200 {
		t.Errorf("webp size %dx%d", w, h)
	}
	if w, h := imageSize([]byte("garbage")); w != 0 || h != 0 {
		t.Errorf("garbage size %dx%d", w, h)
	}
}
