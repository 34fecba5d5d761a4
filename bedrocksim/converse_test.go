package bedrocksim_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
	"github.com/bedrockguard/bedrockguard/internal/wire"
)

func TestConverse(t *testing.T) {
	_, client, _ := start(t, bedrocksim.WithOutputFraction(0.5))
	out, err := converse(context.Background(), client, sonnet45, "hello world", 100)
	if err != nil {
		t.Fatal(err)
	}
	wantIn := int32(bedrocksim.InputTokens("hello world") + bedrocksim.MessageOverhead)
	u := out.Usage
	if *u.InputTokens != wantIn || *u.OutputTokens != 50 || *u.TotalTokens != wantIn+50 {
		t.Errorf("usage = %d/%d/%d, want %d/50/%d", *u.InputTokens, *u.OutputTokens, *u.TotalTokens, wantIn, wantIn+50)
	}
	if out.StopReason != types.StopReasonEndTurn {
		t.Errorf("stop reason = %q", out.StopReason)
	}
	msg := out.Output.(*types.ConverseOutputMemberMessage).Value
	text := msg.Content[0].(*types.ContentBlockMemberText).Value
	if msg.Role != types.ConversationRoleAssistant || bedrocksim.InputTokens(text) != 50 {
		t.Errorf("role %q, text %q counts %d tokens, want 50", msg.Role, text, bedrocksim.InputTokens(text))
	}
	if out.Metrics == nil || *out.Metrics.LatencyMs != 0 {
		t.Errorf("metrics = %+v, want latency 0", out.Metrics)
	}
}

func TestConverseMaxTokensStop(t *testing.T) {
	_, client, _ := start(t, bedrocksim.WithOutputFraction(1))
	out, err := converse(context.Background(), client, haiku3, "hi", 7)
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != types.StopReasonMaxTokens || *out.Usage.OutputTokens != 7 {
		t.Errorf("stop %q output %d, want max_tokens 7", out.StopReason, *out.Usage.OutputTokens)
	}
}

func TestConverseDeterministic(t *testing.T) {
	outputs := func() (n []int32) {
		_, client, _ := start(t, simtest.Seed(42))
		for _, p := range []string{"a", "b", "c"} {
			out, err := converse(context.Background(), client, novaLite, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			n = append(n, *out.Usage.OutputTokens)
		}
		return n
	}
	a, b := outputs(), outputs()
	if a[0] != b[0] || a[1] != b[1] || a[2] != b[2] {
		t.Errorf("outputs differ between runs with the same seed: %v vs %v", a, b)
	}
	for _, n := range a {
		if n < 1 || n > bedrocksim.DefaultOutputCap {
			t.Errorf("output %d outside [1, %d]", n, bedrocksim.DefaultOutputCap)
		}
	}
}

func TestConverseStream(t *testing.T) {
	_, client, _ := start(t, bedrocksim.WithOutputFraction(1), simtest.TokensPerDelta(4))
	out, err := client.ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(sonnet45), Messages: userMsg("stream please"),
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(10)},
	})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	var kinds []string
	var text strings.Builder
	var meta types.ConverseStreamMetadataEvent
	for ev := range stream.Events() {
		switch v := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			kinds = append(kinds, "start:"+string(v.Value.Role))
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			kinds = append(kinds, "delta")
			text.WriteString(v.Value.Delta.(*types.ContentBlockDeltaMemberText).Value)
		case *types.ConverseStreamOutputMemberContentBlockStop:
			kinds = append(kinds, "blockStop")
		case *types.ConverseStreamOutputMemberMessageStop:
			kinds = append(kinds, "stop:"+string(v.Value.StopReason))
		case *types.ConverseStreamOutputMemberMetadata:
			kinds = append(kinds, "metadata")
			meta = v.Value
		default:
			t.Errorf("unexpected event %T", ev)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	want := "start:assistant delta delta delta blockStop stop:max_tokens metadata"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("events = %s\nwant     %s", got, want)
	}
	wantIn := int32(bedrocksim.InputTokens("stream please") + bedrocksim.MessageOverhead)
	if *meta.Usage.InputTokens != wantIn || *meta.Usage.OutputTokens != 10 || *meta.Metrics.LatencyMs != 0 {
		t.Errorf("metadata usage %d/%d, want %d/10", *meta.Usage.InputTokens, *meta.Usage.OutputTokens, wantIn)
	}
	if bedrocksim.InputTokens(text.String()) != 10 {
		t.Errorf("streamed text %q is not 10 tokens", text.String())
	}
}

func TestCountTokens(t *testing.T) {
	_, client, _ := start(t)
	msgs := append(userMsg("count me"), types.Message{Role: types.ConversationRoleAssistant,
		Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "ok"}}})
	out, err := client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String(sonnet45),
		Input: &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{
			Messages: msgs, System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: "be brief"}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := bedrocksim.InputTokens("count me") + bedrocksim.InputTokens("ok") + bedrocksim.InputTokens("be brief") + 3*bedrocksim.MessageOverhead
	if int(*out.InputTokens) != want {
		t.Errorf("InputTokens = %d, want %d", *out.InputTokens, want)
	}
	body := []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"count me"}]}`)
	out, err = client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String(haiku3),
		Input:   &types.CountTokensInputMemberInvokeModel{Value: types.InvokeModelTokensRequest{Body: body}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := bedrocksim.InputTokens("count me") + bedrocksim.MessageOverhead; int(*out.InputTokens) != want {
		t.Errorf("InvokeModel InputTokens = %d, want %d", *out.InputTokens, want)
	}
	_, err = client.CountTokens(context.Background(), &bedrockruntime.CountTokensInput{
		ModelId: aws.String(novaLite),
		Input:   &types.CountTokensInputMemberConverse{Value: types.ConverseTokensRequest{Messages: userMsg("x")}},
	})
	var ve *types.ValidationException
	if !errorsAs(err, &ve) || ve.ErrorMessage() != wire.MsgCountTokensUnsupported {
		t.Errorf("Nova CountTokens err = %v, want ValidationException %q", err, wire.MsgCountTokensUnsupported)
	}
}

// TestInputTokenScale: the simulator can count inputs with another rule
// than its own (here a third more), so that tools can check estimation
// against a tokenizer it does not know; invalid scales fail at New.
func TestInputTokenScale(t *testing.T) {
	_, client, _ := start(t, simtest.InputTokenScale(4.0/3), bedrocksim.WithOutputFraction(0.5))
	text := strings.Repeat("word ", 300)
	out, err := converse(context.Background(), client, sonnet45, text, 100)
	if err != nil {
		t.Fatal(err)
	}
	own := bedrocksim.InputTokens(text) + bedrocksim.MessageOverhead
	if want := int32((own*4 + 2) / 3); *out.Usage.InputTokens != want {
		t.Errorf("input tokens = %d, want %d (4/3 of %d, rounded up)", *out.Usage.InputTokens, want, own)
	}
	for _, f := range []float64{-1, math.NaN(), math.Inf(1)} {
		var oe *bedrockguard.OptionError
		if _, err := bedrocksim.New(simtest.InputTokenScale(f)); !errors.As(err, &oe) || !strings.Contains(oe.Option, "InputTokenScale") {
			t.Errorf("InputTokenScale(%v): err = %v, want an OptionError naming it", f, err)
		}
	}
}
