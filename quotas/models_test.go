package quotas

import (
	"slices"
	"testing"

	"github.com/bedrockguard/bedrockguard/internal/tokens"
)

func TestModelLookup(t *testing.T) {
	idx := newModelIndex(nil)
	tests := []struct {
		display, version string
		want             string
	}{
		{"Anthropic Claude 3.5 Haiku", "", "anthropic.claude-3-5-haiku-20241022-v1:0"},
		{"Anthropic Claude 3.5 Sonnet", "", "anthropic.claude-3-5-sonnet-20240620-v1:0"},
		{"Anthropic Claude 3.5 Sonnet", "V1", "anthropic.claude-3-5-sonnet-20240620-v1:0"},
		{"Anthropic Claude 3.5 Sonnet", "V2", "anthropic.claude-3-5-sonnet-20241022-v2:0"},
		{"Anthropic Claude 3.7 Sonnet", "V1", "anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"Claude Sonnet 3.7", "", "anthropic.claude-3-7-sonnet-20250219-v1:0"}, // word order
		{"Anthropic Claude Sonnet 4", "", "anthropic.claude-sonnet-4-20250514-v1:0"},
		{"anthropic claude 4 sonnet", "v1", "anthropic.claude-sonnet-4-20250514-v1:0"},
		{"Anthropic Claude Sonnet 4.5", "V1", "anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"Anthropic Claude Opus 4.1", "", "anthropic.claude-opus-4-1-20250805-v1:0"},
		{"Anthropic Claude Opus 4", "", "anthropic.claude-opus-4-20250514-v1:0"},
		{"Anthropic Claude Haiku 4.5", "", "anthropic.claude-haiku-4-5-20251001-v1:0"},
		{"Anthropic Claude 3 Haiku", "", "anthropic.claude-3-haiku-20240307-v1:0"},
		{"Amazon Nova Lite", "", "amazon.nova-lite-v1:0"},
		{"Nova 2 Lite", "", "amazon.nova-2-lite-v1:0"},
		{"Amazon Nova Premier", "V1", "amazon.nova-premier-v1:0"},
		{"Meta Llama 3.1 8B Instruct", "", "meta.llama3-1-8b-instruct-v1:0"},
		{"Llama 3.1 8B", "", "meta.llama3-1-8b-instruct-v1:0"}, // no "Meta", no "Instruct"
		{"Meta Llama 3 8B Instruct", "", "meta.llama3-8b-instruct-v1:0"},
		{"Meta Llama 3.2 11B Vision Instruct", "", "meta.llama3-2-11b-instruct-v1:0"},
		{"Meta Llama 4 Maverick 17B Instruct", "", "meta.llama4-maverick-17b-instruct-v1:0"},
		{"Mistral AI Mistral Large (24.07)", "", "mistral.mistral-large-2407-v1:0"},
		{"Mistral Large 2", "", "mistral.mistral-large-2407-v1:0"},
		{"Mistral AI Mistral Large", "", "mistral.mistral-large-2402-v1:0"},
		{"Mistral 7B Instruct", "", "mistral.mistral-7b-instruct-v0:2"},
		{"Mixtral 8x7B Instruct", "", "mistral.mixtral-8x7b-instruct-v0:1"},
		{"Cohere Command R+", "", "cohere.command-r-plus-v1:0"},
		{"Cohere Command R", "", "cohere.command-r-v1:0"},
		{"Titan Text G1 - Express", "", "amazon.titan-text-express-v1"},
		{"Amazon Titan Text Embeddings", "V2", "amazon.titan-embed-text-v2:0"},
		{"Amazon Titan Text Embeddings", "", "amazon.titan-embed-text-v1"},
	}
	for _, tt := range tests {
		got, ok := idx.lookup(tt.display, tt.version)
		if !ok || got != tt.want {
			t.Errorf("lookup(%q, %q) = %q, %v; want %q", tt.display, tt.version, got, ok, tt.want)
		}
	}
	for _, miss := range [][2]string{{"Anthropic Claude 3.7 Sonnet", "V2"}, {"Acme Frontier X1", ""}, {"Anthropic Claude", ""}, {"Claude 3.5", ""}} {
		if got, ok := idx.lookup(miss[0], miss[1]); ok {
			t.Errorf("lookup(%q, %q) = %q, want no match", miss[0], miss[1], got)
		}
	}
}

// TestModelTable checks the table's invariants: no two names collide, every
// ID is of a family the token estimator knows, and prefixes round-trip
// through tokens.BaseModelID.
func TestModelTable(t *testing.T) {
	keys := map[string]string{}
	ids := map[string]bool{}
	for _, m := range knownModels {
		if ids[m.ID] {
			t.Errorf("model ID %s listed twice", m.ID)
		}
		ids[m.ID] = true
		if f := tokens.FamilyOf(m.ID); f == tokens.Unknown {
			t.Errorf("%s: unknown family", m.ID)
		}
		for _, n := range append([]string{m.Name}, m.Aliases...) {
			k := matchKey(n, m.Version)
			if prev, dup := keys[k]; dup && prev != m.ID {
				t.Errorf("%q (%s) has the same key %q as %s", n, m.ID, k, prev)
			}
			keys[k] = m.ID
		}
		for _, id := range routeIDs(m.ID, scopeAny, append(geoPrefixes(""), "jp", "au", "us-gov")) {
			if b := tokens.BaseModelID(id); b != m.ID {
				t.Errorf("BaseModelID(%s) = %s", id, b)
			}
		}
	}
}

func TestWithModelExtendsTable(t *testing.T) {
	idx := newModelIndex([]model{{ID: "acme.frontier-x1-v1:0", Name: "Acme Frontier X1"}, {ID: "anthropic.claude-3-haiku-custom", Name: "Anthropic Claude 3 Haiku"}})
	if id, _ := idx.lookup("Acme Frontier X1", ""); id != "acme.frontier-x1-v1:0" {
		t.Errorf("added model: %q", id)
	}
	if id, _ := idx.lookup("Anthropic Claude 3 Haiku", ""); id != "anthropic.claude-3-haiku-custom" {
		t.Errorf("added model does not win over the built-in one: %q", id)
	}
}

func TestRoutes(t *testing.T) {
	const base = "anthropic.claude-sonnet-4-5-20250929-v1:0"
	tests := []struct {
		region string
		scope  string
		want   []string
	}{
		{"us-east-1", scopeOnDemand, []string{base}},
		{"us-east-1", scopeCrossRegion, []string{"us." + base}},
		{"us-west-2", scopeGlobal, []string{"global." + base}},
		{"eu-central-1", scopeCrossRegion, []string{"eu." + base}},
		{"ap-northeast-1", scopeCrossRegion, []string{"apac." + base, "jp." + base}},
		{"ap-south-1", scopeCrossRegion, []string{"apac." + base}},
		{"us-gov-west-1", scopeCrossRegion, []string{"us-gov." + base}},
		{"", scopeCrossRegion, []string{"us." + base, "eu." + base, "apac." + base}},
		{"me-central-1", scopeCrossRegion, []string{"us." + base, "eu." + base, "apac." + base}},
		{"eu-west-1", scopeAny, []string{base, "eu." + base, "global." + base}},
	}
	for _, tt := range tests {
		if got := routeIDs(base, tt.scope, geoPrefixes(tt.region)); !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: %v, want %v", tt.region, tt.scope, got, tt.want)
		}
	}
}
