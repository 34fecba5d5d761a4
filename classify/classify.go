package classify

// Classifier maps an error to a [Class]. It returns the zero Class (Kind
// [Unknown]) when it has no opinion, so that a [Chain] asks the next one.
// Implementations must be safe for concurrent use and should be cheap: the
// retry policy calls them several times per failed attempt.
type Classifier interface {
	Classify(err error) Class
}

// ClassifierFunc adapts a function to [Classifier].
type ClassifierFunc func(err error) Class

// Classify calls f(err).
func (f ClassifierFunc) Classify(err error) Class { return f(err) }

// Chain is a list of classifiers asked in order; the first answer that is
// not [Unknown] wins, as in the SDK's retry.IsErrorRetryables. The zero
// Chain classifies every non-nil error as [NotRetryable].
//
// Chain.Classify completes the winning answer: Throttle is set from Kind,
// and Code, Status and MidStream are filled from the error when the
// classifier left them empty. A nil error is always Class{Kind: None}.
type Chain []Classifier

// Classify runs the chain over err. See [Chain].
func (c Chain) Classify(err error) Class {
	if err == nil {
		return Class{Kind: None}
	}
	f := inspect(err)
	var out Class
	for _, cl := range c {
		if cl == nil {
			continue
		}
		if b, ok := cl.(builtin); ok {
			out = b.apply(&f)
		} else {
			out = cl.Classify(err)
		}
		if out.Kind != Unknown {
			break
		}
	}
	if out.Kind == Unknown {
		out = Of(NotRetryable)
	}
	return complete(out, &f)
}

func complete(c Class, f *facts) Class {
	c.Throttle = c.Kind.IsThrottle()
	if c.Code == "" {
		c.Code, _, _ = lookupCode(f.code)
	}
	if c.Status == 0 {
		c.Status = f.status
	}
	c.MidStream = c.MidStream || f.midStream()
	return c
}

// Default returns a new copy of the default chain: [ByContext], [ByCode],
// [ByMessage], [ByStatus], [ByTransport]. The caller may modify it.
func Default() Chain {
	return Chain{ByContext, ByCode, ByMessage, ByStatus, ByTransport}
}

// With returns a chain that asks the given classifiers first and then the
// default chain. Use it to teach the guard about an error of your own:
//
//	chain := classify.With(classify.ClassifierFunc(func(err error) classify.Class {
//		if errors.Is(err, errMyGateway) {
//			return classify.Of(classify.Unavailable)
//		}
//		return classify.Class{}
//	}))
func With(front ...Classifier) Chain {
	out := make(Chain, 0, len(front)+5)
	out = append(out, front...)
	return append(out, Default()...)
}

// Classify maps any error from a Bedrock Runtime call to a [Class] using the
// default chain: an operation error returned by a client method, an attempt
// error seen by a retryer, or a mid-stream error from stream.Err(). A nil
// error is Class{Kind: None}; an error no classifier recognises is
// [NotRetryable].
//
// It walks the error tree once and does not allocate.
func Classify(err error) Class {
	if err == nil {
		return Class{Kind: None}
	}
	f := inspect(err)
	return classifyFacts(&f)
}

// classifyFacts runs the default chain on the facts of one walk.
func classifyFacts(f *facts) Class {
	out := ruleContext(f)
	if out.Kind == Unknown {
		out = fromParts(f)
	}
	if out.Kind == Unknown {
		out = ruleTransport(f)
	}
	if out.Kind == Unknown {
		out = Of(NotRetryable)
	}
	return complete(out, f)
}

// fromParts runs the rules that need only code, message and status.
func fromParts(f *facts) Class {
	out := ruleCode(f)
	if out.Kind == Unknown {
		out = ruleMessage(f)
	}
	if out.Kind == Unknown {
		out = ruleStatus(f)
	}
	return out
}

// FromException classifies from raw parts, for code that sees an error
// without an error value, such as a stream tap decoding event-stream
// exception frames (":exception-type" is the code, the JSON "message" the
// message). status is the HTTP status, or 0 for a frame inside a 200
// stream. The default chain's rules apply, except the context and transport
// ones, which need an error value. With no code, no known message and no
// status the answer is [NotRetryable].
func FromException(code, message string, status int, midStream bool) Class {
	f := facts{code: code, message: message, status: status, marked: midStream}
	f.hasAPI = code != "" || message != ""
	out := fromParts(&f)
	if out.Kind == Unknown {
		out = Of(NotRetryable)
	}
	out = complete(out, &f)
	out.MidStream = midStream
	return out
}

// MidStreamError marks an error as having arrived inside an event stream,
// after the HTTP 200 response. Use errors.As with a *MidStreamError target
// to detect it. [Classify] sets Class.MidStream for it.
type MidStreamError struct {
	// Err is the error returned by stream.Err().
	Err error
}

// MidStream wraps err in a [*MidStreamError]; nil stays nil. Callers that
// read a stream use it on stream.Err() to make the origin explicit:
//
//	if err := stream.Err(); err != nil {
//		class := classify.Classify(classify.MidStream(err))
//	}
//
// Without the marker, Classify still infers a mid-stream error when a
// service error has no HTTP response in its chain, which is how the SDK
// returns exception frames.
func MidStream(err error) error {
	if err == nil {
		return nil
	}
	return &MidStreamError{Err: err}
}

// Error returns the wrapped error's text with a "mid-stream: " prefix.
func (e *MidStreamError) Error() string {
	if e.Err == nil {
		return "mid-stream error"
	}
	return "mid-stream: " + e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *MidStreamError) Unwrap() error { return e.Err }
