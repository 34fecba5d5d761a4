package classify

import "github.com/bedrockguard/bedrockguard/internal/midstream"

// Test-only access to the default rules and to raw-parts classification.

// Rules runs each default rule alone on an error, by name.
var Rules = map[string]func(error) Class{
	"context":   rule(ruleContext),
	"code":      rule(ruleCode),
	"message":   rule(ruleMessage),
	"status":    rule(ruleStatus),
	"transport": rule(ruleTransport),
}

func rule(r func(*facts) Class) func(error) Class {
	return func(err error) Class {
		if err == nil {
			return Class{}
		}
		f := inspect(err)
		return r(&f)
	}
}

// FromParts classifies raw parts of an error response with an HTTP status
// (not mid-stream), as FromException does for a stream frame.
func FromParts(code, message string, status int) Class {
	f := facts{code: code, message: message, status: status}
	return classifyParts(&f)
}

// MarkMidStream is the marker the guard's stream tap puts on what it
// decodes.
func MarkMidStream(err error) error { return midstream.Mark(err) }
