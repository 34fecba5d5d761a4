package bedrockguard

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/middleware"
	"github.com/bedrockguard/bedrockguard/pacing"
	"github.com/bedrockguard/bedrockguard/retrypolicy"
	"github.com/bedrockguard/bedrockguard/tokens"
)

// Priority orders waiting calls of one model: Interactive before Batch.
type Priority = pacing.Priority

const (
	// Interactive is the default priority: a user is waiting.
	Interactive = pacing.Interactive
	// Batch yields to Interactive traffic, but waits at most about one
	// quota window longer than it would otherwise.
	Batch = pacing.Batch
)

// WithPriority returns a context whose Bedrock calls are paced at p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return middleware.WithPriority(ctx, p)
}

// Option configures a [Guard].
type Option func(*settings)

type settings struct {
	quotas       map[string]Quota
	defaultQuota Quota
	errs         []error
	pacing       pacing.Config
	estimator    tokens.Options
	retry        retrypolicy.Options
	observer     middleware.Observer
	logger       *slog.Logger
	classifiers  []classify.Classifier
	noPeek       bool
	streamIdle   time.Duration
	observeOnly  bool
}

// WithQuota sets the quota of one model ID or inference profile ID (an
// inference profile has its own quota, separate from its model's).
func WithQuota(modelID string, q Quota) Option {
	return func(s *settings) {
		if modelID == "" {
			s.errs = append(s.errs, &OptionError{Option: "WithQuota", Reason: "empty model ID"})
			return
		}
		if err := q.validate("WithQuota(" + modelID + ")"); err != nil {
			s.errs = append(s.errs, err)
			return
		}
		s.quotas[modelID] = q
	}
}

// WithDefaultQuota sets the quota of models without their own [WithQuota].
func WithDefaultQuota(q Quota) Option {
	return func(s *settings) {
		if err := q.validate("WithDefaultQuota"); err != nil {
			s.errs = append(s.errs, err)
			return
		}
		s.defaultQuota = q
	}
}

// WithStore keeps bucket state in st, for example a Redis store shared by a
// fleet of processes. The default is in process.
func WithStore(st pacing.Store) Option { return func(s *settings) { s.pacing.Store = st } }

// WithPacing tunes the limiter (algorithm, decrease factor, clock...). Its
// Store field is overridden by [WithStore] when both are given.
func WithPacing(c pacing.Config) Option {
	return func(s *settings) {
		st := s.pacing.Store
		s.pacing = c
		if c.Store == nil {
			s.pacing.Store = st
		}
	}
}

// WithEstimator configures token estimation (tokenizer, burndown and
// max-tokens overrides).
func WithEstimator(o tokens.Options) Option { return func(s *settings) { s.estimator = o } }

// WithRetry configures retries (max attempts, backoff, budget).
// A zero MaxAttempts keeps the one set by [WithMaxAttempts].
func WithRetry(o retrypolicy.Options) Option {
	return func(s *settings) {
		n := s.retry.MaxAttempts
		s.retry = o
		if o.MaxAttempts == 0 {
			s.retry.MaxAttempts = n
		}
	}
}

// WithMaxAttempts sets the maximum attempts per call, first one included
// (default 5).
func WithMaxAttempts(n int) Option {
	return func(s *settings) {
		if n < 1 {
			s.errs = append(s.errs, &OptionError{Option: "WithMaxAttempts", Reason: "must be at least 1"})
			return
		}
		s.retry.MaxAttempts = n
	}
}

// WithClassifier puts c in front of the default error classifiers.
func WithClassifier(c classify.Classifier) Option {
	return func(s *settings) { s.classifiers = append(s.classifiers, c) }
}

// WithObserver sends the guard's events to o (see the otelbridge package
// for OpenTelemetry). If o also implements retrypolicy.Observer, it is told
// about retries, budget exhaustion and give-ups too.
func WithObserver(o middleware.Observer) Option { return func(s *settings) { s.observer = o } }

// WithStreamPeek turns the stream peek on or off (default on). With it on,
// ConverseStream and InvokeModelWithResponseStream return only once the
// stream's first frame has arrived, and a stream whose first frame is an
// exception (a throttle after HTTP 200, before any content) is retried like
// an error response instead of reaching the application as an empty stream
// whose Err() is the throttle. The cost is one copy of the first frame; the
// first event reaches the application at the same time either way.
func WithStreamPeek(on bool) Option { return func(s *settings) { s.noPeek = !on } }

// WithStreamIdleTimeout sets how long a stream may be neither read nor
// closed before the guard stops waiting for its usage and settles its
// reservation with what it has seen (default 5 minutes). The stream itself
// is left as it is.
func WithStreamIdleTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d <= 0 {
			s.errs = append(s.errs, &OptionError{Option: "WithStreamIdleTimeout", Reason: "must be positive"})
			return
		}
		s.streamIdle = d
	}
}

// ObserveOnly makes the guard classify failures and report events without
// changing the client's behaviour: no pacing, no reservations and the
// client's own retryer, whose retries are reported to an observer that
// implements retrypolicy.Observer (without their delay, which only the SDK
// knows). Use it to measure an unguarded client.
func ObserveOnly() Option { return func(s *settings) { s.observeOnly = true } }

// WithLogger sets the logger for warnings (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// Guard owns the limiters, the estimator's calibration and the retry budget
// shared by every Bedrock Runtime client it is installed on. It is safe for
// concurrent use.
type Guard struct {
	s         settings
	limiter   *pacing.Limiter
	estimator *tokens.Estimator
	policy    *retrypolicy.Policy
	engine    *middleware.Engine
	classify  classify.Chain

	mu sync.Mutex
}

// New returns a Guard, or an *OptionError for invalid options.
func New(opts ...Option) (*Guard, error) {
	s := settings{quotas: map[string]Quota{}}
	for _, o := range opts {
		o(&s)
	}
	if err := errors.Join(s.errs...); err != nil {
		return nil, err
	}
	if s.observer == nil {
		s.observer = middleware.Nop{}
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	g := &Guard{s: s}
	var err error
	if g.limiter, err = pacing.NewLimiter(s.pacing); err != nil {
		return nil, &OptionError{Option: "WithPacing", Reason: err.Error()}
	}
	if g.estimator, err = tokens.New(s.estimator); err != nil {
		return nil, &OptionError{Option: "WithEstimator", Reason: err.Error()}
	}
	g.classify = classify.With(append(s.classifiers, guardErrors{})...)
	ro := s.retry
	if ro.MaxAttempts == 0 {
		ro.MaxAttempts = 5
	}
	if ro.Logger == nil {
		ro.Logger = s.logger
	}
	if ro.Classifier == nil {
		ro.Classifier = g.classify
	}
	if ro.Observer == nil {
		// An observer that also understands retries (otelbridge does) is
		// told about them.
		if o, ok := s.observer.(retrypolicy.Observer); ok {
			ro.Observer = o
		}
	}
	if g.policy, err = retrypolicy.New(ro); err != nil {
		return nil, &OptionError{Option: "WithRetry", Reason: err.Error()}
	}
	g.engine, err = middleware.New(middleware.Config{
		Limiter:     g.limiter,
		Estimator:   g.estimator,
		Limits:      g.limits,
		Classify:    g.classify.Classify,
		Observer:    s.observer,
		Clock:       s.pacing.Clock,
		ObserveOnly: s.observeOnly,

		StreamIdleTimeout: s.streamIdle,
		DisableStreamPeek: s.noPeek,
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Install creates a Guard and installs it on cfg: every Bedrock Runtime
// client created from cfg afterwards is guarded; clients of other services
// (STS, SSO...) are untouched.
func Install(cfg *aws.Config, opts ...Option) (*Guard, error) {
	g, err := New(opts...)
	if err != nil {
		return nil, err
	}
	g.Install(cfg)
	return g, nil
}

// Install adds g to cfg through cfg.ServiceOptions, keyed by service, so
// only Bedrock Runtime clients see it. Installing twice does not double
// anything.
func (g *Guard) Install(cfg *aws.Config) {
	cfg.ServiceOptions = append(cfg.ServiceOptions, g.serviceOption)
}

// LoadOption creates a Guard and returns it as an option for
// config.LoadDefaultConfig. Invalid options make LoadDefaultConfig fail.
func LoadOption(opts ...Option) config.LoadOptionsFunc {
	g, err := New(opts...)
	if err != nil {
		return func(*config.LoadOptions) error { return err }
	}
	return g.LoadOption()
}

// LoadOption returns g as an option for config.LoadDefaultConfig.
func (g *Guard) LoadOption() config.LoadOptionsFunc {
	return config.WithServiceOptions(g.serviceOption)
}

// ClientOption returns g as an option for bedrockruntime.New,
// bedrockruntime.NewFromConfig or a single operation call.
func (g *Guard) ClientOption() func(*bedrockruntime.Options) {
	return g.apply
}

func (g *Guard) serviceOption(serviceID string, o any) {
	if opts, ok := o.(*bedrockruntime.Options); ok && serviceID == bedrockruntime.ServiceID {
		g.apply(opts)
	}
}

func (g *Guard) apply(o *bedrockruntime.Options) {
	if g.s.observeOnly {
		o.APIOptions = append(o.APIOptions, g.engine.AddTo)
		return
	}
	o.APIOptions = append(o.APIOptions, g.engine.AddTo, g.policy.AddTo)
	o.Retryer = g.policy.Wrap(o.Retryer)
}

// limits returns the configured quota of a model ID.
func (g *Guard) limits(modelID string) pacing.Limits {
	if q, ok := g.s.quotas[modelID]; ok {
		return q.limits()
	}
	return g.s.defaultQuota.limits()
}

// Limiter returns the guard's limiter, for inspection (rates, outstanding
// reservations).
func (g *Guard) Limiter() *pacing.Limiter { return g.limiter }

// Estimator returns the guard's token estimator, for inspection
// (calibration).
func (g *Guard) Estimator() *tokens.Estimator { return g.estimator }

// State returns the current buckets and adaptive rates of a model in a
// region.
func (g *Guard) State(ctx context.Context, region, modelID string) pacing.KeyState {
	return g.limiter.State(ctx, region+"/"+modelID, g.limiter.KeyConfig(g.limits(modelID)))
}

// guardErrors classifies the guard's own errors: pacing refusals are final.
type guardErrors struct{}

func (guardErrors) Classify(err error) classify.Class {
	var de *pacing.DeadlineError
	var tl *pacing.TooLargeError
	if errors.As(err, &de) || errors.As(err, &tl) {
		return classify.Class{Kind: classify.NotRetryable, Code: "PacingRejected"}
	}
	return classify.Class{}
}
