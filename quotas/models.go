package quotas

import (
	"slices"
	"strconv"
	"strings"
)

// model is a Bedrock foundation model as quota names call it: its base
// model ID and the display names Service Quotas uses for it.
type model struct {
	// ID is the base model ID, e.g. "anthropic.claude-sonnet-4-5-20250929-v1:0".
	ID string
	// Name is the display name in quota names, e.g. "Anthropic Claude Sonnet 4.5".
	Name string
	// Version is the " V<n>" suffix that tells two models of one name
	// apart ("Claude 3.5 Sonnet" is V1, "Claude 3.5 Sonnet V2" is V2).
	// Zero and 1 both mean V1, which is also what a name without a suffix
	// means.
	Version int
	// Aliases are other display names seen for the model.
	Aliases []string
}

// knownModels is the built-in table, by provider and age. Names are matched
// after normalization (see matchKey), so capitalization, punctuation, word
// order, the provider's name and "Instruct" do not matter. Users add a
// model with WithModel until it is added here.
var knownModels = []model{
	// Anthropic Claude.
	{ID: "anthropic.claude-3-haiku-20240307-v1:0", Name: "Anthropic Claude 3 Haiku"},
	{ID: "anthropic.claude-3-sonnet-20240229-v1:0", Name: "Anthropic Claude 3 Sonnet"},
	{ID: "anthropic.claude-3-opus-20240229-v1:0", Name: "Anthropic Claude 3 Opus"},
	{ID: "anthropic.claude-3-5-haiku-20241022-v1:0", Name: "Anthropic Claude 3.5 Haiku"},
	{ID: "anthropic.claude-3-5-sonnet-20240620-v1:0", Name: "Anthropic Claude 3.5 Sonnet"},
	{ID: "anthropic.claude-3-5-sonnet-20241022-v2:0", Name: "Anthropic Claude 3.5 Sonnet", Version: 2},
	{ID: "anthropic.claude-3-7-sonnet-20250219-v1:0", Name: "Anthropic Claude 3.7 Sonnet"},
	{ID: "anthropic.claude-sonnet-4-20250514-v1:0", Name: "Anthropic Claude Sonnet 4"},
	{ID: "anthropic.claude-opus-4-20250514-v1:0", Name: "Anthropic Claude Opus 4"},
	{ID: "anthropic.claude-opus-4-1-20250805-v1:0", Name: "Anthropic Claude Opus 4.1"},
	{ID: "anthropic.claude-sonnet-4-5-20250929-v1:0", Name: "Anthropic Claude Sonnet 4.5"},
	{ID: "anthropic.claude-haiku-4-5-20251001-v1:0", Name: "Anthropic Claude Haiku 4.5"},
	{ID: "anthropic.claude-opus-4-5-20251101-v1:0", Name: "Anthropic Claude Opus 4.5"},

	// Amazon Nova.
	{ID: "amazon.nova-micro-v1:0", Name: "Amazon Nova Micro"},
	{ID: "amazon.nova-lite-v1:0", Name: "Amazon Nova Lite"},
	{ID: "amazon.nova-pro-v1:0", Name: "Amazon Nova Pro"},
	{ID: "amazon.nova-premier-v1:0", Name: "Amazon Nova Premier"},
	{ID: "amazon.nova-2-lite-v1:0", Name: "Amazon Nova 2 Lite"},

	// Amazon Titan.
	{ID: "amazon.titan-text-express-v1", Name: "Amazon Titan Text Express", Aliases: []string{"Titan Text G1 - Express"}},
	{ID: "amazon.titan-text-lite-v1", Name: "Amazon Titan Text Lite", Aliases: []string{"Titan Text G1 - Lite"}},
	{ID: "amazon.titan-text-premier-v1:0", Name: "Amazon Titan Text Premier", Aliases: []string{"Titan Text G1 - Premier"}},
	{ID: "amazon.titan-embed-text-v1", Name: "Amazon Titan Embeddings G1 - Text", Aliases: []string{"Titan Text Embeddings"}},
	{ID: "amazon.titan-embed-text-v2:0", Name: "Amazon Titan Text Embeddings", Version: 2},

	// Meta Llama.
	{ID: "meta.llama3-8b-instruct-v1:0", Name: "Meta Llama 3 8B Instruct"},
	{ID: "meta.llama3-70b-instruct-v1:0", Name: "Meta Llama 3 70B Instruct"},
	{ID: "meta.llama3-1-8b-instruct-v1:0", Name: "Meta Llama 3.1 8B Instruct"},
	{ID: "meta.llama3-1-70b-instruct-v1:0", Name: "Meta Llama 3.1 70B Instruct"},
	{ID: "meta.llama3-1-405b-instruct-v1:0", Name: "Meta Llama 3.1 405B Instruct"},
	{ID: "meta.llama3-2-1b-instruct-v1:0", Name: "Meta Llama 3.2 1B Instruct"},
	{ID: "meta.llama3-2-3b-instruct-v1:0", Name: "Meta Llama 3.2 3B Instruct"},
	{ID: "meta.llama3-2-11b-instruct-v1:0", Name: "Meta Llama 3.2 11B Instruct", Aliases: []string{"Meta Llama 3.2 11B Vision Instruct"}},
	{ID: "meta.llama3-2-90b-instruct-v1:0", Name: "Meta Llama 3.2 90B Instruct", Aliases: []string{"Meta Llama 3.2 90B Vision Instruct"}},
	{ID: "meta.llama3-3-70b-instruct-v1:0", Name: "Meta Llama 3.3 70B Instruct"},
	{ID: "meta.llama4-scout-17b-instruct-v1:0", Name: "Meta Llama 4 Scout 17B Instruct"},
	{ID: "meta.llama4-maverick-17b-instruct-v1:0", Name: "Meta Llama 4 Maverick 17B Instruct"},

	// Mistral AI.
	{ID: "mistral.mistral-7b-instruct-v0:2", Name: "Mistral AI Mistral 7B Instruct"},
	{ID: "mistral.mixtral-8x7b-instruct-v0:1", Name: "Mistral AI Mixtral 8x7B Instruct", Aliases: []string{"Mixtral 8x7B Instruct"}},
	{ID: "mistral.mistral-small-2402-v1:0", Name: "Mistral AI Mistral Small", Aliases: []string{"Mistral Small (24.02)"}},
	{ID: "mistral.mistral-large-2402-v1:0", Name: "Mistral AI Mistral Large", Aliases: []string{"Mistral Large (24.02)"}},
	{ID: "mistral.mistral-large-2407-v1:0", Name: "Mistral AI Mistral Large 2", Aliases: []string{"Mistral Large (24.07)", "Mistral Large 24.07"}},
	{ID: "mistral.pixtral-large-2502-v1:0", Name: "Mistral AI Pixtral Large", Aliases: []string{"Pixtral Large", "Pixtral Large (25.02)", "Pixtral Large 25.02"}},

	// Cohere.
	{ID: "cohere.command-text-v14", Name: "Cohere Command"},
	{ID: "cohere.command-light-text-v14", Name: "Cohere Command Light"},
	{ID: "cohere.command-r-v1:0", Name: "Cohere Command R"},
	{ID: "cohere.command-r-plus-v1:0", Name: "Cohere Command R+"},
	{ID: "cohere.embed-english-v3", Name: "Cohere Embed English"},
	{ID: "cohere.embed-multilingual-v3", Name: "Cohere Embed Multilingual"},
}

// dropWords are left out of match keys: provider names (some quota names
// carry them, some do not) and "instruct" (likewise for Llama and Mistral).
var dropWords = map[string]bool{
	"anthropic": true, "amazon": true, "meta": true, "cohere": true, "ai": true, "instruct": true,
}

// matchKey normalizes a display name for matching: lower case, "+" read as
// "plus", punctuation other than a dot inside a number turned into spaces,
// provider names dropped, and the remaining words sorted and deduplicated
// ("Anthropic Claude 3.5 Sonnet" and "claude sonnet 3.5" give the same
// key). A version of 0 or 1 is written as 1.
func matchKey(name string, version int) string {
	name = strings.ReplaceAll(strings.ToLower(name), "+", " plus ")
	var b strings.Builder
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '.' && i > 0 && i+1 < len(name) && isDigit(name[i-1]) && isDigit(name[i+1]):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	var words []string
	for _, w := range strings.Fields(b.String()) {
		if !dropWords[w] {
			words = append(words, w)
		}
	}
	slices.Sort(words)
	words = slices.Compact(words)
	if version < 1 {
		version = 1
	}
	return strings.Join(words, " ") + " |v" + strconv.Itoa(version)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// versionNumber turns "V2" into 2, and "" into 1.
func versionNumber(v string) int {
	n := 0
	for _, c := range strings.TrimPrefix(strings.ToUpper(v), "V") {
		if c < '0' || c > '9' {
			return 1
		}
		n = n*10 + int(c-'0')
	}
	return max(n, 1)
}

// modelIndex maps match keys to base model IDs.
type modelIndex map[string]string

// newModelIndex indexes the built-in table, then extra (which wins).
func newModelIndex(extra []model) modelIndex {
	idx := modelIndex{}
	for _, ms := range [][]model{knownModels, extra} {
		for _, m := range ms {
			for _, n := range append([]string{m.Name}, m.Aliases...) {
				idx[matchKey(n, m.Version)] = m.ID
			}
		}
	}
	return idx
}

// lookup returns the base model ID for a parsed name's model and version.
func (idx modelIndex) lookup(model, version string) (string, bool) {
	id, ok := idx[matchKey(model, versionNumber(version))]
	return id, ok
}

// regionGeos maps a Region (by prefix, first match wins) to the
// geographic inference-profile prefixes callable from it, so that a
// cross-region quota of that Region is set on those profile IDs only.
var regionGeos = []struct {
	prefix string
	geos   []string
}{
	{"us-gov-", []string{"us-gov"}},
	{"us-", []string{"us"}},
	{"ca-", []string{"us"}},
	{"eu-", []string{"eu"}},
	{"ap-northeast-1", []string{"apac", "jp"}},
	{"ap-southeast-2", []string{"apac", "au"}},
	{"ap-", []string{"apac"}},
}

// allGeos are the profile prefixes used when the Region is unknown or has
// no entry in regionGeos.
var allGeos = []string{"us", "eu", "apac"}

// geoPrefixes returns the geographic inference-profile prefixes (without
// the dot) that a cross-region quota of region applies to: "us" for us-*
// and ca-*, "eu" for eu-*, "apac" for ap-* (plus "jp" in ap-northeast-1
// and "au" in ap-southeast-2), "us-gov" for GovCloud, and "us", "eu",
// "apac" when region is empty or unknown.
func geoPrefixes(region string) []string {
	for _, g := range regionGeos {
		if strings.HasPrefix(region, g.prefix) {
			return slices.Clone(g.geos)
		}
	}
	return slices.Clone(allGeos)
}

// routeIDs returns the IDs a quota of scope on base applies to.
func routeIDs(base, scope string, geos []string) []string {
	var ids []string
	if scope == scopeOnDemand || scope == scopeAny {
		ids = append(ids, base)
	}
	if scope == scopeCrossRegion || scope == scopeAny {
		for _, g := range geos {
			ids = append(ids, g+"."+base)
		}
	}
	if scope == scopeGlobal || scope == scopeAny {
		ids = append(ids, "global."+base)
	}
	return ids
}
