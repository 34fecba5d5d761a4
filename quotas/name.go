package quotas

import (
	"fmt"
	"regexp"
	"strings"
)

// Scopes: which way of calling a model a quota counts (Entry.Scope).
const (
	// scopeOnDemand quotas ("On-demand … for M") count calls to the bare
	// model ID in the Region.
	scopeOnDemand = "on-demand"
	// scopeCrossRegion quotas ("Cross-region … for M") count calls to the
	// geographic inference profiles (us., eu., apac. …) made from the
	// Region, wherever the call is served.
	scopeCrossRegion = "cross-region"
	// scopeGlobal quotas ("Global cross-Region … for M") count calls to the
	// global. inference profile made from the Region.
	scopeGlobal = "global-cross-region"
	// scopeAny is the scope of a name without one, such as "Model
	// invocation max tokens per day for M": it counts every call of the
	// model in the Region, whatever the route.
	scopeAny = "any"
)

// Kinds: what a quota limits (Entry.Kind).
const (
	kindTPM = "tokens-per-minute"   // bedrockguard.Quota.TokensPerWindow
	kindRPM = "requests-per-minute" // bedrockguard.Quota.RequestsPerWindow; legacy
	kindTPD = "tokens-per-day"      // bedrockguard.Quota.TokensPerDay
)

// name is a parsed Service Quotas quota name, for example
// "Cross-region model inference tokens per minute for Anthropic Claude
// Sonnet 4.5 V1 1M Context Length" is {cross-region, tokens-per-minute,
// "Anthropic Claude Sonnet 4.5", "V1", "1M", ""}. Entry has the same
// fields.
type name struct {
	scope, kind, model, version, context, note string
}

// nameError is why parseName did not understand a quota name; its reason
// becomes Unparsed.Reason.
type nameError struct {
	name   string // the quota name, spaces normalized
	reason string // what is missing or not supported
}

func (e *nameError) Error() string {
	return fmt.Sprintf("quotas: cannot parse quota name %q: %s", e.name, e.reason)
}

var (
	kindRE     = regexp.MustCompile(`\b(tokens|requests) per (minute|day)\b`)
	parenRE    = regexp.MustCompile(`\s*\(([^()]*)\)$`)
	contextRE  = regexp.MustCompile(`(?i)\s+(\d+(?:\.\d+)?)\s*([km])\s+(?:token\s+)?context(?:\s+(?:length|window))?$`)
	contextIn  = regexp.MustCompile(`(?i)^(\d+(?:\.\d+)?)\s*([km])\s+(?:token\s+)?context(?:\s+(?:length|window))?$`)
	releaseRE  = regexp.MustCompile(`^\s*\d+\.\d+\s*$`) // "Mistral Large (24.07)": part of the name
	versionRE  = regexp.MustCompile(`(?i)\s+v(\d+)(?::\d+)?$`)
	notRuntime = []string{"batch", "provisioned", "customization", "custom model", "input tokens", "output tokens", "import"}
	apiWords   = []string{"invokemodel", "model inference", "model invocation", "inference", "converse"}
)

// parseName parses a Bedrock runtime quota name. The grammar, matched
// case-insensitively with hyphens and spaces interchangeable, is
//
//	name    = [scope] api [ "max" ] kind "for" model { variant } [ "(" note ")" ]
//	scope   = "On-demand" | "Cross-region" | "Global cross-Region"
//	api     = "InvokeModel" | "model inference" | "model invocation" | …
//	kind    = "tokens per minute" | "requests per minute" | "tokens per day"
//	variant = "V" digits | digits ("K" | "M") "Context" [ "Length" ]
//
// A name without a scope gets scopeAny. Quotas of other parts of Bedrock
// (batch, provisioned throughput, customization, the bedrock-mantle
// input/output split) and unknown kinds are a *nameError.
func parseName(s string) (name, error) {
	s = strings.Join(strings.Fields(s), " ")
	lower := strings.ToLower(s)
	i := strings.Index(lower, " for ")
	if i < 0 {
		return name{}, &nameError{name: s, reason: `no "for <model>"`}
	}
	head := strings.ReplaceAll(lower[:i], "-", " ")
	model := strings.TrimSpace(s[i+len(" for "):])
	for _, w := range notRuntime {
		if strings.Contains(head, w) {
			return name{}, &nameError{name: s, reason: "not a bedrock-runtime model quota (" + w + ")"}
		}
	}
	var n name
	switch {
	case strings.HasPrefix(head, "global cross region"), strings.HasPrefix(head, "global cris"), strings.HasPrefix(head, "global "):
		n.scope = scopeGlobal
	case strings.HasPrefix(head, "cross region"), strings.HasPrefix(head, "cris "):
		n.scope = scopeCrossRegion
	case strings.HasPrefix(head, "on demand"):
		n.scope = scopeOnDemand
	default:
		n.scope = scopeAny
	}
	api := false
	for _, w := range apiWords {
		api = api || strings.Contains(head, w)
	}
	if !api && n.scope == scopeAny {
		return name{}, &nameError{name: s, reason: "no scope and no inference API in the name"}
	}
	m := kindRE.FindStringSubmatch(head)
	switch {
	case m == nil:
		return name{}, &nameError{name: s, reason: "no tokens/requests per minute/day"}
	case m[1] == "tokens" && m[2] == "minute":
		n.kind = kindTPM
	case m[1] == "requests" && m[2] == "minute":
		n.kind = kindRPM
	case m[1] == "tokens" && m[2] == "day":
		n.kind = kindTPD
	default:
		return name{}, &nameError{name: s, reason: m[0] + " is not a kind bedrockguard uses"}
	}
	// Peel variants off the end, in any order.
	for changed := true; changed; {
		changed = false
		if p := parenRE.FindStringSubmatchIndex(model); p != nil && !releaseRE.MatchString(model[p[2]:p[3]]) {
			inner := strings.TrimSpace(model[p[2]:p[3]])
			if c := contextIn.FindStringSubmatch(inner); c != nil {
				n.context = c[1] + strings.ToUpper(c[2])
			} else if n.note == "" {
				n.note = inner
			} else {
				n.note = inner + "; " + n.note
			}
			model, changed = model[:p[0]], true
		}
		if c := contextRE.FindStringSubmatchIndex(model); c != nil {
			n.context = model[c[2]:c[3]] + strings.ToUpper(model[c[4]:c[5]])
			model, changed = model[:c[0]], true
		}
		if v := versionRE.FindStringSubmatchIndex(model); v != nil {
			n.version = "V" + model[v[2]:v[3]]
			model, changed = model[:v[0]], true
		}
	}
	n.model = strings.TrimSpace(model)
	if n.model == "" {
		return name{}, &nameError{name: s, reason: "no model name"}
	}
	return n, nil
}
