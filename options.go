package bedrockguard

import (
	"fmt"
	"log/slog"

	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/config"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// Option configures a [Guard]. Options are applied in order and validated
// by [New] (and so by [Install] and [LoadOption]): an invalid one makes it
// fail with an [*OptionError]. No option depends on another's position,
// except that a later option of the same kind replaces an earlier one.
type Option func(*config.Settings)

// WithQuota sets the quota of one model ID or inference profile ID. An
// inference profile (us.anthropic..., global....) has its own quota,
// separate from its model's; a quota set for a model ID applies to calls
// that name that exact ID.
func WithQuota(modelID string, q Quota) Option {
	name := "WithQuota(" + modelID + ")"
	return func(s *config.Settings) {
		if modelID == "" {
			s.Errs = append(s.Errs, optionErr("WithQuota", "empty model ID"))
			return
		}
		if err := q.validate(name); err != nil {
			s.Errs = append(s.Errs, err)
			return
		}
		s.Quotas[modelID] = q.limits()
	}
}

// WithDefaultQuota sets the quota of models without their own [WithQuota].
// Without it, such models start with a small burst, grow their rate in
// slow start, and learn each limit from the first throttles.
func WithDefaultQuota(q Quota) Option {
	return func(s *config.Settings) {
		if err := q.validate("WithDefaultQuota"); err != nil {
			s.Errs = append(s.Errs, err)
			return
		}
		s.DefaultQuota = q.limits()
	}
}

// WithStore keeps the pacing state in st, for example a Redis store shared
// by a fleet of processes (package pacing/redisstore). The default is in
// process. When st fails, the guard paces locally until it answers again.
func WithStore(st pacing.Store) Option {
	return func(s *config.Settings) {
		if st == nil {
			s.Errs = append(s.Errs, optionErr("WithStore", "nil store"))
			return
		}
		s.Pacing.Store = st
	}
}

// WithObserver sends the guard's events to o (package otelbridge turns them
// into OpenTelemetry spans and metrics). A panic in one of o's methods is
// contained and not re-raised: it is logged (see [WithLogger]) with its
// stack, and the call goes on as if the method had returned, so its
// reservation is still settled or released and End is still called.
func WithObserver(o Observer) Option {
	return func(s *config.Settings) {
		if o == nil {
			s.Errs = append(s.Errs, optionErr("WithObserver", "nil observer"))
			return
		}
		s.Observer = o
	}
}

// WithLogger sets the logger for the guard's warnings (default
// slog.Default() at the time of logging).
func WithLogger(l *slog.Logger) Option {
	return func(s *config.Settings) {
		if l == nil {
			s.Errs = append(s.Errs, optionErr("WithLogger", "nil logger"))
			return
		}
		s.Logger = l
	}
}

// WithClassifier puts c in front of the default error classifiers: the
// first classifier that returns a Class whose Kind is not classify.Unknown
// decides. Several WithClassifier options are consulted in order. A panic
// in c is contained like an Observer's (logged, not re-raised): c then has
// no opinion on that error.
func WithClassifier(c classify.Classifier) Option {
	return func(s *config.Settings) {
		if c == nil {
			s.Errs = append(s.Errs, optionErr("WithClassifier", "nil classifier"))
			return
		}
		s.Classifiers = append(s.Classifiers, c)
	}
}

// WithMaxAttempts sets the most attempts per call, the first one included
// (default 5; 1 disables retries).
func WithMaxAttempts(n int) Option {
	return func(s *config.Settings) {
		if n < 1 || n > 100 {
			s.Errs = append(s.Errs, &OptionError{Option: "WithMaxAttempts", Err: fmt.Errorf("%d is outside [1, 100]", n)})
			return
		}
		s.Retry.MaxAttempts = n
	}
}

// WithoutStreamPeek turns the stream peek off. With the peek (the default),
// ConverseStream and InvokeModelWithResponseStream return once the stream's
// first frame has arrived, and a stream whose first frame is an exception
// (a throttle after HTTP 200, before any content) is retried like an error
// response instead of reaching the application as an empty stream whose
// Err() is the throttle. The peek costs one copy of the first frame; the
// first event reaches the application at the same time either way.
func WithoutStreamPeek() Option { return func(s *config.Settings) { s.StreamPeek = false } }

// WithOutputBurndown sets how many quota tokens one output token of a model
// costs (Bedrock's output burndown rate: 5 for some Anthropic models, 1 for
// most). modelID is a model ID, an inference profile ID or a model family
// ("anthropic", "nova", "titan", "llama", "mistral", "cohere"); IDs win over
// families. The guard knows the published rates; use this for newer models.
func WithOutputBurndown(modelID string, factor float64) Option {
	return func(s *config.Settings) {
		if modelID == "" || !finite(factor) || factor < 1 || factor > 100 {
			s.Errs = append(s.Errs, &OptionError{Option: "WithOutputBurndown(" + modelID + ")",
				Err: fmt.Errorf("want a model ID and a factor in [1, 100], got %q and %v", modelID, factor)})
			return
		}
		if s.Estimator.Burndown == nil {
			s.Estimator.Burndown = map[string]float64{}
		}
		s.Estimator.Burndown[modelID] = factor
	}
}

// ObserveOnly makes the guard classify failures and report events without
// changing the client's behaviour: no pacing, no reservations, and the
// client's own retryer, whose retries are reported to the Observer
// (without their delay, which only the SDK knows). Use it to measure an
// unguarded client.
func ObserveOnly() Option { return func(s *config.Settings) { s.ObserveOnly = true } }
