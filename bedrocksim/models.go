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
}

// lookupModel resolves a model ID, inference-profile ID ("us.", "eu.",
// "global." ... prefixes) or Bedrock ARN to a [modelInfo]. It reports false for
// IDs the simulator does not serve; those get a ValidationException.
func lookupModel(id string) (modelInfo, bool) {
	base := baseModelID(id)
	for _, e := range modelTable {
		if strings.HasPrefix(base, e.prefix) {
			return e.model, true
		}
	}
	return modelInfo{}, false
}

// baseModelID strips an ARN and a cross-region prefix from id.
func baseModelID(id string) string {
	if strings.HasPrefix(id, "arn:") {
		if i := strings.LastIndexByte(id, '/'); i >= 0 {
			id = id[i+1:]
		}
	}
	for _, p := range []string{"us-gov.", "global.", "apac.", "us.", "eu.", "jp.", "au.", "ca."} {
		if strings.HasPrefix(id, p) {
			return id[len(p):]
		}
	}
	return id
}

// modelTable is matched in order, most specific prefix first. The models
// with burndown 5 are the ones AWS lists as 5x
// (docs/bedrock.md#reservation-burndown-and-settlement).
var modelTable = []struct {
	prefix string
	model  modelInfo
}{
	{"anthropic.claude-3-7-sonnet", modelInfo{familyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-sonnet-4", modelInfo{familyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-haiku-4-5", modelInfo{familyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-opus-4-5", modelInfo{familyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-opus-4", modelInfo{familyAnthropic, 32000, 200000, 5}},
	{"anthropic.claude-3-5", modelInfo{familyAnthropic, 8192, 200000, 1}},
	{"anthropic.claude", modelInfo{familyAnthropic, 4096, 200000, 1}},
	{"amazon.nova-premier", modelInfo{familyNova, 32000, 1000000, 1}},
	{"amazon.nova-micro", modelInfo{familyNova, 10000, 128000, 1}},
	{"amazon.nova", modelInfo{familyNova, 10000, 300000, 1}},
	{"amazon.titan-text", modelInfo{familyTitan, 8192, 32000, 1}},
	{"meta.llama", modelInfo{familyLlama, 2048, 128000, 1}},
	{"mistral.", modelInfo{familyMistral, 8192, 32000, 1}},
	{"cohere.command", modelInfo{familyCohere, 4000, 128000, 1}},
}
