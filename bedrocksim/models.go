package bedrocksim

import "strings"

// Family is a model family: it decides the InvokeModel body shapes, the
// output-budget field and the default output limit.
type Family string

// The model families the simulator knows.
const (
	FamilyAnthropic Family = "anthropic" // Anthropic Claude, Messages API bodies
	FamilyNova      Family = "nova"      // Amazon Nova, messages-v1 bodies
	FamilyTitan     Family = "titan"     // Amazon Titan Text
	FamilyLlama     Family = "llama"     // Meta Llama
	FamilyMistral   Family = "mistral"   // Mistral (text-completion bodies)
	FamilyCohere    Family = "cohere"    // Cohere Command R (chat bodies)
)

// Model describes what the simulator knows about one foundation model.
type Model struct {
	Family Family
	// MaxOutput is the model's output capacity: the largest accepted
	// max_tokens, and the amount reserved when a request sets none.
	MaxOutput int
	// Context is the largest accepted input, in simulator tokens.
	Context int
	// Burndown is how many quota tokens one output token consumes.
	Burndown int
}

// LookupModel resolves a model ID, inference-profile ID ("us.", "eu.",
// "global." ... prefixes) or Bedrock ARN to a [Model]. It reports false for
// IDs the simulator does not serve; those get a ValidationException.
func LookupModel(id string) (Model, bool) {
	base := baseModelID(id)
	for _, e := range modelTable {
		if strings.HasPrefix(base, e.prefix) {
			return e.model, true
		}
	}
	return Model{}, false
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

// modelTable is matched in order, most specific prefix first. Burndown 5 is
// the list in bedrock-facts §3 (aws-samples quota dashboard registries).
var modelTable = []struct {
	prefix string
	model  Model
}{
	{"anthropic.claude-3-7-sonnet", Model{FamilyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-sonnet-4", Model{FamilyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-haiku-4-5", Model{FamilyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-opus-4-5", Model{FamilyAnthropic, 64000, 200000, 5}},
	{"anthropic.claude-opus-4", Model{FamilyAnthropic, 32000, 200000, 5}},
	{"anthropic.claude-3-5", Model{FamilyAnthropic, 8192, 200000, 1}},
	{"anthropic.claude", Model{FamilyAnthropic, 4096, 200000, 1}},
	{"amazon.nova-premier", Model{FamilyNova, 32000, 1000000, 1}},
	{"amazon.nova-micro", Model{FamilyNova, 10000, 128000, 1}},
	{"amazon.nova", Model{FamilyNova, 10000, 300000, 1}},
	{"amazon.titan-text", Model{FamilyTitan, 8192, 32000, 1}},
	{"meta.llama", Model{FamilyLlama, 2048, 128000, 1}},
	{"mistral.", Model{FamilyMistral, 8192, 32000, 1}},
	{"cohere.command", Model{FamilyCohere, 4000, 128000, 1}},
}
