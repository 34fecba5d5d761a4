package quotas

import (
	"fmt"
	"regexp"
	"strings"
)

// Scope says which way of calling a model a quota counts.
type Scope string

// The scopes a Bedrock runtime quota name can carry.
const (
	// OnDemand quotas ("On-demand … for M") count calls to the bare
	// model ID in the Region.
	OnDemand Scope = "on-demand"
	// CrossRegion quotas ("Cross-region … for M") count calls to the
	// geographic inference profiles (us., eu., apac. …) made from the
	// Region, wherever the call is served.
	CrossRegion Scope = "cross-region"
	// GlobalCrossRegion quotas ("Global cross-Region … for M") count calls
	// to the global. inference profile made from the Region.
	GlobalCrossRegion Scope = "global-cross-region"
	// AnyRoute is the scope of a name without one, such as "Model
	// invocation max tokens per day for M": it counts every call of the
	// model in the Region, whatever the route.
	AnyRoute Scope = "any"
)

// Kind is what a quota limits.
type Kind string

// The quota kinds bedrockguard understands.
const (
	// TokensPerMinute is the main runtime quota (Quota.TokensPerMinute).
	TokensPerMinute Kind = "tokens-per-minute"
	// RequestsPerMinute is the legacy request quota (Quota.RequestsPerMinute),
	// no longer enforced on bedrock-runtime since 2026.
	RequestsPerMinute Kind = "requests-per-minute"
	// TokensPerDay is the daily token quota (Quota.TokensPerDay).
	TokensPerDay Kind = "tokens-per-day"
)

// Name is a parsed Service Quotas quota name, for example
// "Cross-region model inference tokens per minute for Anthropic Claude
// Sonnet 4.5 V1 1M Context Length" is {CrossRegion, TokensPerMinute,
// "Anthropic Claude Sonnet 4.5", "V1", "1M", ""}.
type Name struct {
	Scope Scope `json:"scope"`
	Kind  Kind  `json:"kind"`
	// Model is the model's display name as the quota writes it, without
	// the variant suffixes.
	Model string `json:"model"`
	// Version is the " V<n>" suffix, upper-cased ("V1", "V2"), or empty.
	Version string `json:"version,omitempty"`
	// Context is a context-length variant such as "1M" ("… 1M Context
	// Length"), which has a quota of its own; empty for the standard one.
	Context string `json:"context,omitempty"`
	// Note is a trailing parenthetical that is not a context variant, such
	// as "doubled for cross-region calls".
	Note string `json:"note,omitempty"`
}

// NameError reports a quota name that [ParseName] does not understand.
type NameError struct {
	Name   string // the quota name, spaces normalized
	Reason string // what is missing or not supported
}

// Error implements error.
func (e *NameError) Error() string {
	return fmt.Sprintf("quotas: cannot parse quota name %q: %s", e.Name, e.Reason)
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

// ParseName parses a Bedrock runtime quota name. The grammar, matched
// case-insensitively with hyphens and spaces interchangeable, is
//
//	name    = [scope] api [ "max" ] kind "for" model { variant } [ "(" note ")" ]
//	scope   = "On-demand" | "Cross-region" | "Global cross-Region"
//	api     = "InvokeModel" | "model inference" | "model invocation" | …
//	kind    = "tokens per minute" | "requests per minute" | "tokens per day"
//	variant = "V" digits | digits ("K" | "M") "Context" [ "Length" ]
//
// A name without a scope gets [AnyRoute]. Quotas of other parts of Bedrock
// (batch, provisioned throughput, customization, the bedrock-mantle
// input/output split) and unknown kinds are a *[NameError].
func ParseName(s string) (Name, error) {
	s = strings.Join(strings.Fields(s), " ")
	lower := strings.ToLower(s)
	i := strings.Index(lower, " for ")
	if i < 0 {
		return Name{}, &NameError{Name: s, Reason: `no "for <model>"`}
	}
	head := strings.ReplaceAll(lower[:i], "-", " ")
	model := strings.TrimSpace(s[i+len(" for "):])
	for _, w := range notRuntime {
		if strings.Contains(head, w) {
			return Name{}, &NameError{Name: s, Reason: "not a bedrock-runtime model quota (" + w + ")"}
		}
	}
	var n Name
	switch {
	case strings.HasPrefix(head, "global cross region"), strings.HasPrefix(head, "global cris"), strings.HasPrefix(head, "global "):
		n.Scope = GlobalCrossRegion
	case strings.HasPrefix(head, "cross region"), strings.HasPrefix(head, "cris "):
		n.Scope = CrossRegion
	case strings.HasPrefix(head, "on demand"):
		n.Scope = OnDemand
	default:
		n.Scope = AnyRoute
	}
	api := false
	for _, w := range apiWords {
		api = api || strings.Contains(head, w)
	}
	if !api && n.Scope == AnyRoute {
		return Name{}, &NameError{Name: s, Reason: "no scope and no inference API in the name"}
	}
	m := kindRE.FindStringSubmatch(head)
	switch {
	case m == nil:
		return Name{}, &NameError{Name: s, Reason: "no tokens/requests per minute/day"}
	case m[1] == "tokens" && m[2] == "minute":
		n.Kind = TokensPerMinute
	case m[1] == "requests" && m[2] == "minute":
		n.Kind = RequestsPerMinute
	case m[1] == "tokens" && m[2] == "day":
		n.Kind = TokensPerDay
	default:
		return Name{}, &NameError{Name: s, Reason: m[0] + " is not a kind bedrockguard uses"}
	}
	// Peel variants off the end, in any order.
	for changed := true; changed; {
		changed = false
		if p := parenRE.FindStringSubmatchIndex(model); p != nil && !releaseRE.MatchString(model[p[2]:p[3]]) {
			inner := strings.TrimSpace(model[p[2]:p[3]])
			if c := contextIn.FindStringSubmatch(inner); c != nil {
				n.Context = c[1] + strings.ToUpper(c[2])
			} else if n.Note == "" {
				n.Note = inner
			} else {
				n.Note = inner + "; " + n.Note
			}
			model, changed = model[:p[0]], true
		}
		if c := contextRE.FindStringSubmatchIndex(model); c != nil {
			n.Context = model[c[2]:c[3]] + strings.ToUpper(model[c[4]:c[5]])
			model, changed = model[:c[0]], true
		}
		if v := versionRE.FindStringSubmatchIndex(model); v != nil {
			n.Version = "V" + model[v[2]:v[3]]
			model, changed = model[:v[0]], true
		}
	}
	n.Model = strings.TrimSpace(model)
	if n.Model == "" {
		return Name{}, &NameError{Name: s, Reason: "no model name"}
	}
	return n, nil
}
