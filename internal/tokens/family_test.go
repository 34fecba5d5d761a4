package tokens

import "testing"

func TestFamilyOf(t *testing.T) {
	tests := []struct {
		id   string
		want Family
		base string
	}{
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", Anthropic, "anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"us.anthropic.claude-3-7-sonnet-20250219-v1:0", Anthropic, "anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"global.anthropic.claude-haiku-4-5-20251001-v1:0", Anthropic, "anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"apac.amazon.nova-lite-v1:0", Nova, "amazon.nova-lite-v1:0"},
		{"us-gov.meta.llama3-8b-instruct-v1:0", Llama, "meta.llama3-8b-instruct-v1:0"},
		{"arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1", Titan, "amazon.titan-text-express-v1"},
		{"arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.mistral.pixtral-large-2502-v1:0", Mistral, "mistral.pixtral-large-2502-v1:0"},
		{"cohere.command-r-plus-v1:0", Cohere, "cohere.command-r-plus-v1:0"},
		{"arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", Unknown, "a1b2c3"},
		{"deepseek.r1-v1:0", Unknown, "deepseek.r1-v1:0"},
		{"", Unknown, ""},
	}
	for _, tt := range tests {
		if got := FamilyOf(tt.id); got != tt.want {
			t.Errorf("FamilyOf(%q) = %q, want %q", tt.id, got, tt.want)
		}
		if got := BaseModelID(tt.id); got != tt.base {
			t.Errorf("BaseModelID(%q) = %q, want %q", tt.id, got, tt.base)
		}
	}
}

func TestDefaultsByModel(t *testing.T) {
	tests := []struct {
		id       string
		max      int
		burndown float64
	}{
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", 64000, 5},
		{"anthropic.claude-opus-4-1-20250805-v1:0", 32000, 5},
		{"anthropic.claude-haiku-4-5-20251001-v1:0", 64000, 5},
		{"anthropic.claude-3-7-sonnet-20250219-v1:0", 64000, 5},
		{"anthropic.claude-3-5-sonnet-20241022-v2:0", 8192, 1},
		{"anthropic.claude-3-haiku-20240307-v1:0", 4096, 1},
		{"amazon.nova-pro-v1:0", 10000, 1},
		{"amazon.titan-text-express-v1", 512, 1},
		{"amazon.titan-embed-text-v2:0", 0, 1},
		{"meta.llama3-70b-instruct-v1:0", 512, 1},
		{"mistral.mistral-large-2407-v1:0", 8192, 1},
		{"mistral.mistral-7b-instruct-v0:2", 512, 1},
		{"cohere.command-r-v1:0", 4000, 1},
		{"openai.gpt-oss-120b-1:0", 8192, 1},
	}
	for _, tt := range tests {
		base := BaseModelID(tt.id)
		f := FamilyOf(tt.id)
		if got := defaultMaxTokens(base, f); got != tt.max {
			t.Errorf("defaultMaxTokens(%q) = %d, want %d", tt.id, got, tt.max)
		}
		if got := defaultBurndown(base, f); got != tt.burndown {
			t.Errorf("defaultBurndown(%q) = %v, want %v", tt.id, got, tt.burndown)
		}
	}
}
