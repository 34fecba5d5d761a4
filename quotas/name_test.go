package quotas

import (
	"errors"
	"testing"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in   string
		want name
	}{
		{"On-demand model inference tokens per minute for Anthropic Claude 3.5 Haiku",
			name{scope: scopeOnDemand, kind: kindTPM, model: "Anthropic Claude 3.5 Haiku"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude 3.7 Sonnet V1",
			name{scope: scopeCrossRegion, kind: kindTPM, model: "Anthropic Claude 3.7 Sonnet", version: "V1"}},
		{"Cross-Region model inference tokens per minute for Anthropic Claude 3.5 Sonnet V2",
			name{scope: scopeCrossRegion, kind: kindTPM, model: "Anthropic Claude 3.5 Sonnet", version: "V2"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1 1M Context Length",
			name{scope: scopeCrossRegion, kind: kindTPM, model: "Anthropic Claude Sonnet 4.5", version: "V1", context: "1M"}},
		{"Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1",
			name{scope: scopeGlobal, kind: kindTPM, model: "Anthropic Claude Sonnet 4.5", version: "V1"}},
		// The documented template names.
		{"Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4",
			name{scope: scopeCrossRegion, kind: kindTPM, model: "Anthropic Claude Sonnet 4"}},
		{"On-demand InvokeModel tokens per minute for Amazon Nova Pro",
			name{scope: scopeOnDemand, kind: kindTPM, model: "Amazon Nova Pro"}},
		{"Model invocation max tokens per day for Anthropic Claude Sonnet 4.5 V1",
			name{scope: scopeAny, kind: kindTPD, model: "Anthropic Claude Sonnet 4.5", version: "V1"}},
		// Legacy requests per minute.
		{"On-demand InvokeModel requests per minute for Meta Llama 3 8B Instruct",
			name{scope: scopeOnDemand, kind: kindRPM, model: "Meta Llama 3 8B Instruct"}},
		{"Cross-region model inference requests per minute for Anthropic Claude 3 Haiku",
			name{scope: scopeCrossRegion, kind: kindRPM, model: "Anthropic Claude 3 Haiku"}},
		// Spelling variants: case, spaces, hyphens, parentheticals.
		{"  ON-DEMAND   model inference Tokens Per Minute for  Amazon Nova Lite ",
			name{scope: scopeOnDemand, kind: kindTPM, model: "Amazon Nova Lite"}},
		{"Global cross region model inference tokens per day for Anthropic Claude Haiku 4.5",
			name{scope: scopeGlobal, kind: kindTPD, model: "Anthropic Claude Haiku 4.5"}},
		{"Model invocation max tokens per day for Anthropic Claude 3.5 Haiku (doubled for cross-region calls)",
			name{scope: scopeAny, kind: kindTPD, model: "Anthropic Claude 3.5 Haiku", note: "doubled for cross-region calls"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 V1 (1M context)",
			name{scope: scopeCrossRegion, kind: kindTPM, model: "Anthropic Claude Sonnet 4", version: "V1", context: "1M"}},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4 1M context length V1",
			name{scope: scopeCrossRegion, kind: kindTPM, model: "Anthropic Claude Sonnet 4", version: "V1", context: "1M"}},
		{"On-demand model inference requests per minute for Mistral AI Mistral Large (24.07)",
			name{scope: scopeOnDemand, kind: kindRPM, model: "Mistral AI Mistral Large (24.07)"}},
		{"On-demand model inference tokens per minute for Amazon Titan Text Embeddings V2",
			name{scope: scopeOnDemand, kind: kindTPM, model: "Amazon Titan Text Embeddings", version: "V2"}},
	}
	for _, tt := range tests {
		got, err := parseName(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseName(%q)\n got %+v, %v\nwant %+v", tt.in, got, err, tt.want)
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
		n, err := parseName(in)
		var ne *nameError
		if !errors.As(err, &ne) || ne.reason == "" {
			t.Errorf("parseName(%q) = %+v, %v; want a *nameError", in, n, err)
		}
	}
}
