package classify

// Classifier maps an error to a [Class]. It returns the zero Class (Kind
// [Unknown]) when it has no opinion, so that the classifier built by [With]
// asks the next one. Implementations must be safe for concurrent use and
// should be cheap: the retry policy calls them several times per failed
// attempt.
type Classifier interface {
	// Classify returns the Class of err, or the zero Class for no opinion.
	Classify(err error) Class
}

// ClassifierFunc adapts a function to [Classifier].
type ClassifierFunc func(err error) Class

// Classify calls f(err).
func (f ClassifierFunc) Classify(err error) Class { return f(err) }

// With returns a Classifier that asks the given classifiers in order and
// then the default rules of [Classify]; the first answer that is not
// [Unknown] wins, as in the SDK's retry.IsErrorRetryables. Use it to teach
// the guard about an error of your own, or to override a default answer.
// Nil classifiers are skipped, and With() classifies exactly as [Classify].
//
// The returned classifier completes the winning answer: Throttle is set from
// Kind, and Code, Status and MidStream are filled from the error when the
// classifier left them empty. Retryable is kept as the classifier gave it;
// build answers with [Of] to get the default. A nil error is always
// Class{Kind: None}.
func With(first ...Classifier) Classifier {
	c := chain{first: make([]Classifier, 0, len(first))}
	for _, cl := range first {
		if cl != nil {
			c.first = append(c.first, cl)
		}
	}
	return c
}

// chain is the classifier [With] returns.
type chain struct {
	first []Classifier
}

// Classify asks the custom classifiers, then the default rules, walking the
// error tree once for the rules and the completion.
func (c chain) Classify(err error) Class {
	if err == nil {
		return Class{Kind: None}
	}
	f := inspect(err)
	for _, cl := range c.first {
		if out := cl.Classify(err); out.Kind != Unknown {
			return complete(out, &f)
		}
	}
	return classifyFacts(&f)
}

func complete(c Class, f *facts) Class {
	c.Throttle = c.Kind.isThrottle()
	if c.Code == "" {
		c.Code, _, _ = lookupCode(f.code)
	}
	if c.Status == 0 {
		c.Status = f.status
	}
	c.MidStream = c.MidStream || f.midStream()
	return c
}

// Classify maps any error from a Bedrock Runtime call to a [Class] using the
// default rules (see the package documentation): an operation error returned
// by a client method, an attempt error seen by a retryer, or a mid-stream
// error from stream.Err(). A nil error is Class{Kind: None}; an error no rule
// recognises is [NotRetryable].
//
// It walks the error tree once and does not allocate. To put your own
// classifiers in front of these rules, use [With].
func Classify(err error) Class {
	if err == nil {
		return Class{Kind: None}
	}
	f := inspect(err)
	return classifyFacts(&f)
}

// classifyFacts runs the default rules, in order, on the facts of one walk:
// context, code, message, status, transport.
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

// classifyParts classifies raw parts: the default rules except the context
// and transport ones, which need an error value.
func classifyParts(f *facts) Class {
	f.hasAPI = f.code != "" || f.message != ""
	out := fromParts(f)
	if out.Kind == Unknown {
		out = Of(NotRetryable)
	}
	return complete(out, f)
}

// FromException classifies an exception frame read from a Bedrock event
// stream after the 200 response, for code that decodes frames itself rather
// than reading stream.Err(): code is the frame's ":exception-type" header
// (such as "throttlingException") and message the "message" field of its
// JSON payload. The answer has MidStream set and Status 0, and is the one
// [Classify] gives for the SDK's error for the same frame. With no code and
// no known message the answer is [NotRetryable].
//
// Custom classifiers are not consulted: they need an error value.
func FromException(code, message string) Class {
	f := facts{code: code, message: message, marked: true}
	return classifyParts(&f)
}
