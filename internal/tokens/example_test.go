package tokens_test

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/bedrockguard/bedrockguard/internal/tokens"
)

func ExampleNew() {
	// A word counter keeps the example's numbers obvious; leave Tokenizer
	// nil to use the bounded cl100k counter (tokens.Default()).
	words := tokens.TokenizerFunc(func(s string) int { return len(strings.Fields(s)) })
	est, err := tokens.New(tokens.Options{Tokenizer: words})
	if err != nil {
		panic(err)
	}
	in := &bedrockruntime.ConverseInput{
		ModelId: aws.String("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
		Messages: []types.Message{{
			Role:    types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Summarise the attached quarterly report in three short bullet points for the board"}},
		}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(500)},
	}
	e := est.Estimate(in)
	fmt.Println(e.Family, e.RawInputTokens, e.InputTokens, e.MaxTokens, e.Burndown, e.ReserveTokens())

	// Settle against what Bedrock reported, and calibrate.
	used := tokens.Usage{InputTokens: 30, OutputTokens: 100}
	fmt.Println(used.SettledTokens(e.Burndown))
	o := est.Observe(e, used)
	fmt.Printf("error %+.2f ratio %.2f samples %d\n", o.Error, o.Ratio, o.Samples)
	// Output:
	// anthropic 20 26 500 5 2532
	// 530
	// error -0.13 ratio 1.50 samples 1
}

func ExampleFamilyOf() {
	for _, id := range []string{
		"anthropic.claude-3-5-haiku-20241022-v1:0",
		"eu.amazon.nova-pro-v1:0",
		"arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-70b-instruct-v1:0",
		"global.anthropic.claude-sonnet-4-5-20250929-v1:0",
		"deepseek.r1-v1:0",
	} {
		fmt.Println(tokens.FamilyOf(id), tokens.BaseModelID(id))
	}
	// Output:
	// anthropic anthropic.claude-3-5-haiku-20241022-v1:0
	// nova amazon.nova-pro-v1:0
	// llama meta.llama3-70b-instruct-v1:0
	// anthropic anthropic.claude-sonnet-4-5-20250929-v1:0
	// unknown deepseek.r1-v1:0
}
