package quotas

import (
	"errors"
	"testing"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in   string
		want Name
	}{
		{"On-demand model inference tokens per minute for Anthropic Claude 3.5 Haiku",
			Name{Scope: OnDemand, Kind: TokensPerMinute, Model: "Anthropic Claude 3.5 Haiku"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude 3.7 Sonnet V1",
			Name{Scope: CrossRegion, Kind: TokensPerMinute, Model: "Anthropic Claude 3.7 Sonnet", Version: "V1"}},
		{"Cross-Region model inference tokens per minute for Anthropic Claude 3.5 Sonnet V2",
			Name{Scope: CrossRegion, Kind: TokensPerMinute, Model: "Anthropic Claude 3.5 Sonnet", Version: "V2"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1 1M Context Length",
			Name{Scope: CrossRegion, Kind: TokensPerMinute, Model: "Anthropic Claude Sonnet 4.5", Version: "V1", Context: "1M"}},
		{"Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1",
			Name{Scope: GlobalCrossRegion, Kind: TokensPerMinute, Model: "Anthropic Claude Sonnet 4.5", Version: "V1"}},
		// The documented template names.
		{"Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4",
			Name{Scope: CrossRegion, Kind: TokensPerMinute, Model: "Anthropic Claude Sonnet 4"}},
		{"On-demand InvokeModel tokens per minute for Amazon Nova Pro",
			Name{Scope: OnDemand, Kind: TokensPerMinute, Model: "Amazon Nova Pro"}},
		{"Model invocation max tokens per day for Anthropic Claude Sonnet 4.5 V1",
			Name{Scope: AnyRoute, Kind: TokensPerDay, Model: "Anthropic Claude Sonnet 4.5", Version: "V1"}},
		// Legacy requests per minute.
		{"On-demand InvokeModel requests per minute for Meta Llama 3 8B Instruct",
			Name{Scope: OnDemand, Kind: RequestsPerMinute, Model: "Meta Llama 3 8B Instruct"}},
		{"Cross-region model inference requests per minute for Anthropic Claude 3 Haiku",
			Name{Scope: CrossRegion, Kind: RequestsPerMinute, Model: "Anthropic Claude 3 Haiku"}},
		// Spelling variants: case, spaces, hyphens, parentheticals.
		{"  ON-DEMAND   model inference Tokens Per Minute for  Amazon Nova Lite ",
			Name{Scope: OnDemand, Kind: TokensPerMinute, Model: "Amazon Nova Lite"}},
		{"Global cross region model inference tokens per day for Anthropic Claude Haiku 4.5",
			Name{Scope: GlobalCrossRegion, Kind: TokensPerDay, Model: "Anthropic Claude Haiku 4.5"}},
		{"Model invocation max tokens per day for Anthropic Claude 3.5 Haiku (doubled for cross-region calls)",
			Name{Scope: AnyRoute, Kind: TokensPerDay, Model: "Anthropic Claude 3.5 Haiku", Note: "doubled for cross-region calls"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 V1 (1M context)",
			Name{Scope: CrossRegion, Kind: TokensPerMinute, Model: "Anthropic Claude Sonnet 4", Version: "V1", Context: "1M"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 1M context length V1",
			Name{Scope: CrossRegion, Kind: TokensPerMinute, Model: "Anthropic Claude Sonnet 4", Version: "V1", Context: "1M"}},
		{"On-demand model inference requests per minute for Mistral AI Mistral Large (24.07)",
			Name{Scope: OnDemand, Kind: RequestsPerMinute, Model: "Mistral AI Mistral Large (24.07)"}},
		{"On-demand model inference tokens per minute for Amazon Titan Text Embeddings V2",
			Name{Scope: OnDemand, Kind: TokensPerMinute, Model: "Amazon Titan Text Embeddings", Version: "V2"}},
	}
	for _, tt := range tests {
		got, err := ParseName(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseName(%q)\n got %+v, %v\nwant %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseNameRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"Cross-Model Max Tokens Per Day",
		"Batch inference job size (in GB)",
		"Records per batch inference job for Anthropic Claude 3 Haiku",
		"Model units per provisioned model for Anthropic Claude 3 Haiku",
		"On-demand model inference input tokens per minute for OpenAI GPT OSS 120B",
		"On-demand model inference requests per day for Amazon Nova Lite",
		"Number of custom models for Amazon Titan Text Express",
		"Tokens per minute for Anthropic Claude 3 Haiku",
		"On-demand model inference tokens per minute for ",
	} {
		n, err := ParseName(in)
		var ne *NameError
		if !errors.As(err, &ne) {
			t.Errorf("ParseName(%q) = %+v, %v; want a *NameError", in, n, err)
		}
	}
}
