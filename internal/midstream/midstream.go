// Package midstream marks an error as having arrived inside a Bedrock event
// stream, after the HTTP 200 response. The guard's stream tap marks the
// exceptions it decodes, and package classify reports a marked error with
// Class.MidStream set, even when the error itself carries no sign of where
// it came from (an exception frame that could not be decoded, say).
package midstream

// Error wraps an error that arrived inside an event stream.
type Error struct {
	// Err is the error read from the stream.
	Err error
}

// Mark wraps err in an [*Error]; nil stays nil.
func Mark(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err}
}

// Error returns the wrapped error's text with a "mid-stream: " prefix.
func (e *Error) Error() string {
	if e.Err == nil {
		return "mid-stream error"
	}
	return "mid-stream: " + e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }
