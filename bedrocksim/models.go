package bedrocksim

import "strings"

// modelFamily is a model family: it decides the InvokeModel body shapes, the
// output-budget field and the default output limit.
type modelFamily string

// The model families the simulator knows.
const (
	familyAnthropic modelFamily = "anthropic" // Anthropic Claude, Messages API bodies
	familyNova      modelFamily = "nova"      // Amazon Nova, messages-v1 bodies
	familyTitan     modelFamily = "titan"     // Amazon Titan Text
	familyLlama     modelFamily = "llama"     // Meta Llama
	familyMistral   modelFamily = "mistral"   // Mistral (text-completion bodies)
	familyCohere    modelFamily = "cohere"    // Cohere Command R (chat bodies)
)

// modelInfo describes what the simulator knows about one foundation model.
type modelInfo struct {
	family modelFamily
	// maxOutput is the model's output capacity: the largest accepted
	// max_tokens, and the amount reserved when a request sets none.
	maxOutput int
	// contextSize is the largest accepted input, in simulator tokens.
	contextSize int
	// burndown is how many quota tokens one output token consumes.
	burndown int
	// profileOnly marks a model served only through inference profiles:
	// Bedrock rejects an on-demand call with its bare model ID or its
	// foundation-model ARN (docs/bedrock.md#model-identifiers).
	profileOnly bool
}

// lookupModel resolves what Bedrock accepts as a model identifier for the
// models the simulator serves, exactly as written (docs/bedrock.md#model-identifiers):
//
//   - a foundation model ID, "anthropic.claude-3-5-haiku-20241022-v1:0";
//   - a cross-Region inference profile ID, that ID behind a geography
//     prefix ("us.", "eu.", "apac.", "global.", and "us-gov.", "jp.",
//     "au.", "ca.");
//   - the ARN of either: "arn:aws:bedrock:<region>::foundation-model/<id>",
//     "arn:aws:bedrock:<region>:<account>:inference-profile/<profile id>"
//     (partitions aws, aws-us-gov, aws-cn; Bedrock also takes a profile ARN
//     with no account).
//
// It reports false for anything else (a misspelt ID, a missing or extra
// version suffix, an unknown prefix); Bedrock answers those with a 400
// ValidationException, "The provided model identifier is invalid.". The
// result's profileOnly is true only when id names a model served only
// through inference profiles without one (its model ID or foundation-model
// ARN); the caller rejects those with [onDemandMessage].
func lookupModel(id string) (modelInfo, bool) {
	if strings.HasPrefix(id, "arn:") {
		return lookupARN(id)
	}
	if m, ok := models[id]; ok {
		return m, true
	}
	if base, ok := cutGeography(id); ok {
		m, ok := models[base]
		m.profileOnly = false // reached through a profile
		return m, ok
	}
	return modelInfo{}, false
}

// onDemandMessage is Bedrock's message for an on-demand call with the model
// ID of a model served only through inference profiles, id as sent; the
// apostrophe is U+2019, as Bedrock sends it
// (docs/bedrock.md#model-identifiers).
func onDemandMessage(id string) string {
	return "Invocation of model ID " + id + " with on-demand throughput isn\u2019t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
}

// lookupARN resolves a foundation-model or inference-profile ARN.
func lookupARN(arn string) (modelInfo, bool) {
	// arn:partition:bedrock:region:account:resource; the resource (a model
	// ID) may itself hold colons.
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[2] != "bedrock" || !validRegion(p[3]) {
		return modelInfo{}, false
	}
	switch p[1] {
	case "aws", "aws-us-gov", "aws-cn":
	default:
		return modelInfo{}, false
	}
	account, resource := p[4], p[5]
	if id, ok := strings.CutPrefix(resource, "foundation-model/"); ok && account == "" {
		m, ok := models[id]
		return m, ok
	}
	if id, ok := strings.CutPrefix(resource, "inference-profile/"); ok && (account == "" || validAccount(account)) {
		if base, ok := cutGeography(id); ok {
			m, ok := models[base]
			m.profileOnly = false // reached through a profile
			return m, ok
		}
	}
	return modelInfo{}, false
}

// geographies are the prefixes of Bedrock's cross-Region inference
// profile IDs.
var geographies = []string{"us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca."}

// cutGeography removes the geography prefix of an inference profile ID.
func cutGeography(id string) (string, bool) {
	for _, g := range geographies {
		if base, ok := strings.CutPrefix(id, g); ok {
			return base, true
		}
	}
	return "", false
}

func validRegion(r string) bool {
	if r == "" {
		return false
	}
	for _, c := range r {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

func validAccount(a string) bool {
	if len(a) != 12 {
		return false
	}
	for _, c := range a {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// baseModelID is the foundation model ID behind id (a model ID, an
// inference profile ID or an ARN of either), as Anthropic bodies report it.
func baseModelID(id string) string {
	if strings.HasPrefix(id, "arn:") {
		if i := strings.IndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
	}
	if base, ok := cutGeography(id); ok {
		return base
	}
	return id
}

// models are the foundation models the simulator serves, by their exact
// Bedrock model IDs (docs/bedrock.md#model-identifiers). The models with
// burndown 5 are the ones AWS lists as 5x
// (docs/bedrock.md#reservation-burndown-and-settlement).
var models = func() map[string]modelInfo {
	m := map[string]modelInfo{}
	add := func(info modelInfo, ids ...string) {
		for _, id := range ids {
			m[id] = info
		}
	}
	add(modelInfo{familyAnthropic, 64000, 200000, 5, false},
		"anthropic.claude-3-7-sonnet-20250219-v1:0",
		"anthropic.claude-sonnet-4-20250514-v1:0",
		"anthropic.claude-sonnet-4-5-20250929-v1:0",
		"anthropic.claude-haiku-4-5-20251001-v1:0",
		"anthropic.claude-opus-4-5-20251101-v1:0")
	add(modelInfo{familyAnthropic, 32000, 200000, 5, false},
		"anthropic.claude-opus-4-20250514-v1:0",
		"anthropic.claude-opus-4-1-20250805-v1:0")
	add(modelInfo{familyAnthropic, 8192, 200000, 1, false},
		"anthropic.claude-3-5-haiku-20241022-v1:0",
		"anthropic.claude-3-5-sonnet-20241022-v2:0")
	// Claude 3.5 Sonnet (June 2024) takes at most 4096 on Bedrock, though
	// Anthropic's API allows 8192 (docs/bedrock.md#model-identifiers).
	add(modelInfo{familyAnthropic, 4096, 200000, 1, false},
		"anthropic.claude-3-5-sonnet-20240620-v1:0",
		"anthropic.claude-3-haiku-20240307-v1:0",
		"anthropic.claude-3-sonnet-20240229-v1:0",
		"anthropic.claude-3-opus-20240229-v1:0")
	add(modelInfo{familyNova, 32000, 1000000, 1, false}, "amazon.nova-premier-v1:0")
	add(modelInfo{familyNova, 10000, 128000, 1, false}, "amazon.nova-micro-v1:0")
	add(modelInfo{familyNova, 10000, 300000, 1, false},
		"amazon.nova-lite-v1:0",
		"amazon.nova-pro-v1:0",
		"amazon.nova-2-lite-v1:0")
	add(modelInfo{familyTitan, 8192, 32000, 1, false},
		"amazon.titan-text-express-v1",
		"amazon.titan-text-lite-v1",
		"amazon.titan-text-premier-v1:0")
	add(modelInfo{familyLlama, 2048, 128000, 1, false},
		"meta.llama3-8b-instruct-v1:0",
		"meta.llama3-70b-instruct-v1:0",
		"meta.llama3-1-8b-instruct-v1:0",
		"meta.llama3-1-70b-instruct-v1:0",
		"meta.llama3-1-405b-instruct-v1:0",
		"meta.llama3-2-1b-instruct-v1:0",
		"meta.llama3-2-3b-instruct-v1:0",
		"meta.llama3-2-11b-instruct-v1:0",
		"meta.llama3-2-90b-instruct-v1:0",
		"meta.llama3-3-70b-instruct-v1:0",
		"meta.llama4-scout-17b-instruct-v1:0",
		"meta.llama4-maverick-17b-instruct-v1:0")
	add(modelInfo{familyMistral, 8192, 32000, 1, false},
		"mistral.mistral-7b-instruct-v0:2",
		"mistral.mixtral-8x7b-instruct-v0:1",
		"mistral.mistral-small-2402-v1:0",
		"mistral.mistral-large-2402-v1:0",
		"mistral.mistral-large-2407-v1:0",
		"mistral.pixtral-large-2502-v1:0")
	add(modelInfo{familyCohere, 4000, 128000, 1, false},
		"cohere.command-r-v1:0",
		"cohere.command-r-plus-v1:0")
	for _, id := range profileOnly {
		info := m[id]
		info.profileOnly = true
		m[id] = info
	}
	return m
}()

// profileOnly are the models the simulator serves that Bedrock serves only
// through inference profiles (no single-Region, on-demand support in the
// Regions that have them; docs/bedrock.md#model-identifiers).
var profileOnly = []string{
	"anthropic.claude-3-7-sonnet-20250219-v1:0",
	"anthropic.claude-sonnet-4-20250514-v1:0",
	"anthropic.claude-sonnet-4-5-20250929-v1:0",
	"anthropic.claude-haiku-4-5-20251001-v1:0",
	"anthropic.claude-opus-4-20250514-v1:0",
	"anthropic.claude-opus-4-1-20250805-v1:0",
	"anthropic.claude-opus-4-5-20251101-v1:0",
	"amazon.nova-premier-v1:0",
	"meta.llama3-2-1b-instruct-v1:0",
	"meta.llama3-2-3b-instruct-v1:0",
	"meta.llama3-2-11b-instruct-v1:0",
	"meta.llama3-2-90b-instruct-v1:0",
}
