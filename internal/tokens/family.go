package tokens

import "strings"

// Family is a Bedrock model family: it decides how an InvokeModel body is
// read, the default max_tokens, the burndown rate and the calibration bucket.
type Family string

// The model families the estimator knows.
const (
	Anthropic Family = "anthropic"
	Nova      Family = "nova"
	Titan     Family = "titan"
	Llama     Family = "llama"
	Mistral   Family = "mistral"
	Cohere    Family = "cohere"
	Unknown   Family = "unknown"
)

// Families lists every [Family], Unknown last.
var Families = []Family{Anthropic, Nova, Titan, Llama, Mistral, Cohere, Unknown}

// BaseModelID strips what Bedrock puts around a foundation-model ID: an ARN
// ("arn:aws:bedrock:…:foundation-model/ID" or "…:inference-profile/ID") and a
// cross-region inference profile prefix ("us.", "eu.", "apac.", "global.",
// "us-gov.", "jp.", "au.", …). An application-inference-profile or
// provisioned-model ARN carries no model name and is returned as its last
// path segment.
func BaseModelID(modelID string) string {
	id := modelID
	if strings.HasPrefix(id, "arn:") {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
	}
	if i := strings.IndexByte(id, '.'); i > 0 && familyOfBase(id[:i+1]) == Unknown && familyOfBase(id[i+1:]) != Unknown {
		id = id[i+1:]
	}
	return id
}

// FamilyOf returns the family of a model ID, inference profile ID or ARN.
func FamilyOf(modelID string) Family {
	return familyOfBase(BaseModelID(modelID))
}

func familyOfBase(id string) Family {
	switch {
	case strings.HasPrefix(id, "anthropic."):
		return Anthropic
	case strings.HasPrefix(id, "amazon.nova"):
		return Nova
	case strings.HasPrefix(id, "amazon.titan"):
		return Titan
	case strings.HasPrefix(id, "meta.llama"):
		return Llama
	case strings.HasPrefix(id, "mistral."):
		return Mistral
	case strings.HasPrefix(id, "cohere."):
		return Cohere
	}
	return Unknown
}

// familyMaxTokens is the output reservation Bedrock makes when a request sets
// no max_tokens: the family's default (documented request defaults where the
// model has one, else its maximum output). See doc.go, "Families".
var familyMaxTokens = map[Family]int{
	Anthropic: 64000, // newest Claude models' maximum output (Sonnet 4/4.5, Haiku 4.5, Opus 4.5)
	Nova:      10000, // Nova 2 / Premier allow more; v1 models max out at 10K (5K for some); the default is the max
	Titan:     512,   // textGenerationConfig.maxTokenCount default 512
	Llama:     512,   // max_gen_len default 512
	Mistral:   512,   // max_tokens default 512 (Mistral 7B, Mixtral); Large overrides below
	Cohere:    4000,  // Command R / R+ max output 4000
	Unknown:   8192,
}

// modelMaxTokens refines familyMaxTokens by model-ID prefix (first match
// wins, so longer prefixes come first).
var modelMaxTokens = []struct {
	prefix string
	max    int
}{
	{"anthropic.claude-opus-4-5", 64000},
	{"anthropic.claude-opus-4", 32000}, // Opus 4, 4.1
	{"anthropic.claude-sonnet-4", 64000},
	{"anthropic.claude-haiku-4", 64000},
	{"anthropic.claude-3-7-sonnet", 64000},
	{"anthropic.claude-3-5", 8192},
	{"anthropic.claude-3", 4096},
	{"anthropic.claude-v2", 4096},
	{"anthropic.claude-instant", 4096},
	{"amazon.nova-premier", 32000},
	{"amazon.nova-2", 65535},
	{"mistral.mistral-large", 8192},
	{"mistral.pixtral", 8192},
	{"cohere.command-text", 4000},
	{"cohere.command-light", 4000},
}

// defaultMaxTokens returns the output reservation for a request without an
// explicit max_tokens. Embedding models generate no output.
func defaultMaxTokens(base string, fam Family) int {
	if strings.Contains(base, "embed") {
		return 0
	}
	for _, m := range modelMaxTokens {
		if strings.HasPrefix(base, m.prefix) {
			return m.max
		}
	}
	return familyMaxTokens[fam]
}

// defaultBurndown returns the output burndown rate: 5 for Claude 3.7 Sonnet
// and every Claude model of generation 4 or later (Sonnet 4/4.5, Haiku 4.5,
// Opus 4/4.1/4.5, per "How tokens are counted in Amazon Bedrock" and AWS's
// sample quota dashboard), 1 for older Claude models and every other family.
// Unknown future Claude models get 5, the conservative choice.
func defaultBurndown(base string, fam Family) float64 {
	if fam != Anthropic {
		return 1
	}
	switch {
	case strings.HasPrefix(base, "anthropic.claude-3-7"):
		return 5
	case strings.HasPrefix(base, "anthropic.claude-3"),
		strings.HasPrefix(base, "anthropic.claude-v2"),
		strings.HasPrefix(base, "anthropic.claude-instant"):
		return 1
	}
	return 5
}

// lookup returns m[base] or m[string(fam)]; model IDs win over families. The
// raw model ID as the caller wrote it is tried first.
func lookup[V any](m map[string]V, raw, base string, fam Family) (V, bool) {
	if v, ok := m[raw]; ok {
		return v, true
	}
	if v, ok := m[base]; ok {
		return v, true
	}
	v, ok := m[string(fam)]
	return v, ok
}
