package bedrockguard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
	"github.com/bedrockguard/bedrockguard/classify"
	guardconfig "github.com/bedrockguard/bedrockguard/internal/config"
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/retry"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// Guard owns the pacing state, the estimator's calibration and the retry
// budget shared by every Bedrock Runtime client it is installed on. It is
// safe for concurrent use. Make one per process (or per aws.Config) with
// [Install], [LoadOption] or [New].
type Guard struct {
	s        guardconfig.Settings
	limiter  *limiter.Limiter
	policy   *retry.Policy
	engine   *engine.Engine
	classify classify.Classifier

	// quotas.Background: the config it lists quotas with (set once, at
	// Install) and each region's discovered quotas.
	discoveryCfg atomic.Pointer[aws.Config]
	discoverOnce sync.Once
	regions      sync.Map     // region -> *regionDiscovery
	nregions     atomic.Int32 // entries in regions, at most maxDiscoveryRegions
	sources      sync.Map     // model ID -> the source last logged
	nsources     atomic.Int32 // entries in sources, at most maxLoggedSources
	qwarn        *quotaWarnings
}

// New returns a Guard, or an error that unwraps to one [*OptionError] per
// invalid option. Most programs call [Install] instead.
func New(opts ...Option) (*Guard, error) {
	s := guardconfig.Defaults()
	for _, o := range opts {
		if o == nil {
			s.Errs = append(s.Errs, optionErr("Option", "nil option"))
			continue
		}
		o(&s)
	}
	if err := errors.Join(s.Errs...); err != nil {
		return nil, err
	}
	// A panic in a user callback is contained (logged, not re-raised): see
	// WithObserver and WithClassifier.
	s.Observer = engine.Contain(s.Observer, s.Logger)
	for i, c := range s.Classifiers {
		s.Classifiers[i] = engine.ContainClassifier(c, s.Logger)
	}
	g := &Guard{s: s, qwarn: newQuotaWarnings(s.Quotas)}
	var err error
	if g.limiter, err = limiter.NewLimiter(s.Pacing); err != nil {
		return nil, &OptionError{Option: "pacing", Err: err}
	}
	est, err := tokens.New(s.Estimator)
	if err != nil {
		return nil, &OptionError{Option: "estimator", Err: err}
	}
	g.classify = classify.With(append(s.Classifiers, guardErrors{})...)
	ro := s.Retry
	ro.Logger = s.Logger
	ro.Classifier = g.classify
	ro.Observer = retryObserver{s.Observer}
	// Every attempt waits for pacing admission, so a throttle's retry is
	// paced, not a storm: the budget does not charge (or refuse) it.
	ro.PacedThrottles = !s.ObserveOnly
	if g.policy, err = retry.New(ro); err != nil {
		return nil, &OptionError{Option: "retry", Err: err}
	}
	g.engine, err = engine.New(engine.Config{
		Limiter:     g.limiter,
		Estimator:   est,
		Limits:      g.limits,
		QuotaSource: g.quotaSource,
		Classify:    g.classify.Classify,
		Observer:    s.Observer,
		Logger:      s.Logger,
		Clock:       s.Pacing.Clock,
		ObserveOnly: s.ObserveOnly,

		StreamIdleTimeout: s.StreamIdle,
		StreamPeek:        s.StreamPeek,
	}.WithRoutes(s.Routes, g.apply))
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Install creates a Guard and installs it on cfg: every Bedrock Runtime
// client created from cfg afterwards is guarded; clients of other services
// (STS, SSO...) are untouched. Invalid options fail here, with an
// [*OptionError].
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
	g.startDiscovery(cfg.Copy())
	cfg.ServiceOptions = append(cfg.ServiceOptions, g.serviceOption)
}

// LoadOption creates a Guard and returns it as an option for
// config.LoadDefaultConfig. Invalid options make LoadDefaultConfig fail
// with an [*OptionError].
func LoadOption(opts ...Option) config.LoadOptionsFunc {
	g, err := New(opts...)
	if err != nil {
		return func(*config.LoadOptions) error { return err }
	}
	return config.WithServiceOptions(g.serviceOption)
}

// ClientOption returns g as an option for bedrockruntime.New,
// bedrockruntime.NewFromConfig or a single operation call: it adds the
// guard's middlewares and wraps the client's retryer.
func (g *Guard) ClientOption() func(*bedrockruntime.Options) {
	return g.apply
}

// addTo adds the guard's middlewares to a Bedrock Runtime stack; it is
// idempotent. [Guard.ClientOption] adds it and wraps the client's retryer.
func (g *Guard) addTo(stack *middleware.Stack) error {
	if err := g.engine.AddTo(stack); err != nil {
		return err
	}
	if g.s.ObserveOnly {
		return nil
	}
	return g.policy.AddTo(stack)
}

func (g *Guard) serviceOption(serviceID string, o any) {
	if opts, ok := o.(*bedrockruntime.Options); ok && serviceID == bedrockruntime.ServiceID {
		g.apply(opts)
	}
}

func (g *Guard) apply(o *bedrockruntime.Options) {
	o.APIOptions = append(o.APIOptions, g.addTo)
	if !g.s.ObserveOnly {
		o.Retryer = g.policy.Wrap(o.Retryer)
	}
}

// limits returns the quota of a model ID in a region: configured,
// discovered, or none (learned). With quotas.Background it also starts the
// region's first listing, or its hourly refresh, in the background.
func (g *Guard) limits(region, modelID string) limiter.Limits {
	g.discover(region)
	q, src := g.quota(region, modelID)
	g.noteSource(modelID, src, q)
	_, own := g.s.Quotas[modelID]
	g.noteQuotaUse(modelID, own, src)
	return q
}

// State returns the current pacing state of a model in a region: each
// axis' adaptive rate per window, bucket level and whether it is paced,
// and, for a model with a tokens-per-day quota, the day's remainder and the
// forecast of when it runs out at the current rate (measured between
// successive calls of State). With a shared store it asks the store.
func (g *Guard) State(ctx context.Context, region, modelID string) pacing.KeyState {
	q, _ := g.quota(region, modelID)
	key := region + "/" + modelID
	st := g.limiter.State(ctx, key, g.limiter.KeyConfig(q))
	if d := g.limiter.DayState(ctx, key, q); d.Limited {
		st.DayLimited, st.DayRemaining, st.DayEmptyIn = true, d.Remaining, d.EmptyIn
	}
	return st
}

// Outstanding returns the number of admitted attempts whose reservation is
// not yet settled or released: 0 once every call and stream has ended. A
// graceful shutdown or a test can wait for it to reach 0.
func (g *Guard) Outstanding() int64 { return g.limiter.Outstanding() }

// guardErrors classifies the guard's own errors: pacing refusals are final.
type guardErrors struct{}

func (guardErrors) Classify(err error) classify.Class {
	var de *DeadlineError
	var tl *TooLargeError
	var be *BudgetError
	if errors.As(err, &de) || errors.As(err, &tl) || errors.As(err, &be) {
		return classify.Class{Kind: classify.NotRetryable, Code: "PacingRejected"}
	}
	if re, ok := errors.AsType[*engine.RouteError](err); ok {
		// Served on a spillover route's client, which retried it already.
		c := classify.Classify(re.Err)
		return classify.Class{Kind: classify.NotRetryable, Code: c.Code}
	}
	return classify.Class{}
}

// retryObserver passes the retry policy's decisions to the Observer.
type retryObserver struct{ o engine.Observer }

func (r retryObserver) OnRetry(ctx context.Context, ev retry.RetryEvent) {
	if c, ok := engine.CallFrom(ctx); ok {
		r.o.Retry(ctx, c, engine.RetryEvent{Attempt: ev.Attempt, Class: ev.Class, Delay: ev.Delay})
	}
}

func (r retryObserver) OnBudgetExhausted(ctx context.Context, cls classify.Class) {
	if c, ok := engine.CallFrom(ctx); ok {
		r.o.Retry(ctx, c, engine.RetryEvent{Attempt: engine.Attempts(c), Class: cls, BudgetExhausted: true})
	}
}

func (retryObserver) OnGiveUp(context.Context, *retry.GiveUpError) {}
