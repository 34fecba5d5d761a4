package bedrocksim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bedrockguard/bedrockguard/bedrocksim"
)

// familyCases are InvokeModel bodies with prompt "hello there" and a budget
// of 8, and where each family's answer keeps its counts and stop reason.
var familyCases = []struct {
	model, body               string
	inPath, outPath, stopPath string
	stop                      string
}{
	{haiku3, `{"anthropic_version":"bedrock-2023-05-31","max_tokens":8,"messages":[{"role":"user","content":[{"type":"text","text":"hello there"}]}]}`,
		"usage.input_tokens", "usage.output_tokens", "stop_reason", "max_tokens"},
	{novaLite, `{"schemaVersion":"messages-v1","messages":[{"role":"user","content":[{"text":"hello there"}]}],"inferenceConfig":{"max_new_tokens":8}}`,
		"usage.inputTokens", "usage.outputTokens", "stopReason", "max_tokens"},
	{"amazon.titan-text-express-v1", `{"inputText":"hello there","textGenerationConfig":{"maxTokenCount":8}}`,
		"inputTextTokenCount", "results.0.tokenCount", "results.0.completionReason", "LENGTH"},
	{"us.meta.llama3-1-8b-instruct-v1:0", `{"prompt":"hello there","max_gen_len":8}`,
		"prompt_token_count", "generation_token_count", "stop_reason", "length"},
	{"mistral.mistral-7b-instruct-v0:2", `{"prompt":"hello there","max_tokens":8}`,
		"", "", "outputs.0.stop_reason", "length"},
	{"cohere.command-r-v1:0", `{"message":"hello there","max_tokens":8}`,
		"", "", "finish_reason", "MAX_TOKENS"},
}

// path walks a decoded JSON value along "a.0.b".
func path(v any, p string) any {
	for p != "" {
		var k string
		k, p, _ = strings.Cut(p, ".")
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, _ := strconv.Atoi(k)
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func TestInvokeModelFamilies(t *testing.T) {
	_, client, _ := start(t, bedrocksim.WithOutputFraction(1))
	wantIn := bedrocksim.InputTokens("hello there") + bedrocksim.MessageOverhead
	for _, fc := range familyCases {
		t.Run(fc.model, func(t *testing.T) {
			out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
				ModelId: aws.String(fc.model), Body: []byte(fc.body), ContentType: aws.String("application/json"),
			})
			if err != nil {
				t.Fatal(err)
			}
			var body any
			if err := json.Unmarshal(out.Body, &body); err != nil {
				t.Fatal(err)
			}
			if fc.inPath != "" && fmt.Sprint(path(body, fc.inPath)) != strconv.Itoa(wantIn) {
				t.Errorf("%s = %v, want %d", fc.inPath, path(body, fc.inPath), wantIn)
			}
			if fc.outPath != "" && fmt.Sprint(path(body, fc.outPath)) != "8" {
				t.Errorf("%s = %v, want 8", fc.outPath, path(body, fc.outPath))
			}
			if got := path(body, fc.stopPath); got != fc.stop {
				t.Errorf("%s = %v, want %s", fc.stopPath, got, fc.stop)
			}
			raw := awsmiddleware.GetRawResponse(out.ResultMetadata).(*smithyhttp.Response)
			h := raw.Header
			if h.Get("X-Amzn-Bedrock-Input-Token-Count") != strconv.Itoa(wantIn) ||
				h.Get("X-Amzn-Bedrock-Output-Token-Count") != "8" || h.Get("X-Amzn-Bedrock-Invocation-Latency") != "0" ||
				h.Get("X-Amzn-RequestId") == "" {
				t.Errorf("headers = %v", h)
			}
		})
	}
}

func TestInvokeModelWithResponseStream(t *testing.T) {
	_, client, _ := start(t, bedrocksim.WithOutputFraction(1))
	wantIn := bedrocksim.InputTokens("hello there") + bedrocksim.MessageOverhead
	for _, fc := range familyCases {
		t.Run(fc.model, func(t *testing.T) {
			out, err := client.InvokeModelWithResponseStream(context.Background(), &bedrockruntime.InvokeModelWithResponseStreamInput{
				ModelId: aws.String(fc.model), Body: []byte(fc.body),
			})
			if err != nil {
				t.Fatal(err)
			}
			var last map[string]any
			chunks := 0
			for ev := range out.GetStream().Events() {
				c := ev.(*types.ResponseStreamMemberChunk)
				last = nil
				if err := json.Unmarshal(c.Value.Bytes, &last); err != nil {
					t.Fatalf("chunk %q: %v", c.Value.Bytes, err)
				}
				chunks++
			}
			if err := out.GetStream().Err(); err != nil {
				t.Fatal(err)
			}
			m := path(last, "amazon-bedrock-invocationMetrics")
			if fmt.Sprint(path(m, "inputTokenCount")) != strconv.Itoa(wantIn) || fmt.Sprint(path(m, "outputTokenCount")) != "8" {
				t.Errorf("last chunk %v lacks the invocation metrics", last)
			}
			if chunks < 3 {
				t.Errorf("only %d chunks", chunks)
			}
		})
	}
}

func TestPromptCache(t *testing.T) {
	sim, client, _ := start(t, bedrocksim.WithOutputFraction(1))
	in := &bedrockruntime.ConverseInput{
		ModelId: aws.String(sonnet45),
		System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "a long shared system prompt"},
			&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}},
		Messages:        userMsg("question"),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(10)},
	}
	prefix := int32(bedrocksim.InputTokens("a long shared system prompt") + bedrocksim.MessageOverhead)
	rest := int32(bedrocksim.InputTokens("question") + bedrocksim.MessageOverhead)
	first, err := client.Converse(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	second, err := client.Converse(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if *first.Usage.CacheWriteInputTokens != prefix || *first.Usage.InputTokens != rest {
		t.Errorf("first call usage in=%d write=%d, want %d/%d", *first.Usage.InputTokens, *first.Usage.CacheWriteInputTokens, rest, prefix)
	}
	if *second.Usage.CacheReadInputTokens != prefix || *second.Usage.CacheWriteInputTokens != 0 {
		t.Errorf("second call read=%d write=%d, want %d/0", *second.Usage.CacheReadInputTokens, *second.Usage.CacheWriteInputTokens, prefix)
	}
	// Burndown 5: charged = input + cacheWrite + 5*output, for both calls.
	ks := sim.Stats().Keys[sonnet45]
	if want := int64(rest+prefix+50) + int64(rest+50); ks.TokensCharged != want {
		t.Errorf("charged %d, want %d", ks.TokensCharged, want)
	}
}
