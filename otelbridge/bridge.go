package otelbridge

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// Option configures a [Bridge].
type Option func(*config)

type config struct {
	tp    trace.TracerProvider
	mp    metric.MeterProvider
	attrs []attribute.KeyValue

	prices      map[string]Price // WithPrices
	tenantLimit int              // WithTenantAttribute
	errs        []error          // invalid options
}

// WithTracerProvider makes the bridge create its spans with tp instead of
// the global tracer provider (otel.GetTracerProvider at [New]).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider makes the bridge create its instruments with mp instead
// of the global meter provider (otel.GetMeterProvider at [New]).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithAttributes adds constant attributes to every metric data point and
// every span the bridge records, for example a deployment or mode label
// that tells apart two bridges reporting the same models:
//
//	otelbridge.New(otelbridge.WithAttributes(attribute.String("bedrockguard.mode", "guarded")))
//
// Keep their values bounded; a key that the bridge sets itself (such as
// gen_ai.request.model) is overridden by the bridge's value in metrics.
// Repeated options add up.
func WithAttributes(kv ...attribute.KeyValue) Option {
	return func(c *config) { c.attrs = append(c.attrs, kv...) }
}

// Bridge turns the guard's events into OpenTelemetry spans and metrics.
// Give it to the guard with [Bridge.Option] (or bedrockguard.WithObserver
// and [Bridge.Observer]). One Bridge may
// serve any number of guards. It is safe for concurrent use.
type Bridge struct {
	tracer trace.Tracer
	extra  []attribute.KeyValue // WithAttributes

	tokenUsage      metric.Int64Histogram
	duration        metric.Float64Histogram
	firstChunk      metric.Float64Histogram
	throttles       metric.Int64Counter
	retries         metric.Int64Counter
	budgetExhausted metric.Int64Counter
	paceWait        metric.Float64Histogram
	paceRejected    metric.Int64Counter
	reserved        metric.Int64Counter
	settled         metric.Int64Counter
	estimateRatio   metric.Float64Histogram
	rate            metric.Float64ObservableGauge
	storeErrors     metric.Int64ObservableCounter
	registration    metric.Registration
	capacity        capacityMetrics // capacity.go
	cost            costMetrics     // cost.go
	daily           dailyMetrics    // daily.go
	spill           spillMetrics    // spillover.go

	keys  sync.Map // pacing key -> *engine.Call, for the rate gauge
	nkeys atomic.Int32

	sets  sync.Map // setKey -> *attrSets
	nsets atomic.Int32
}

// setKey identifies the attribute sets shared by the measurements of every
// operation with the same operation name, model, region and priority.
type setKey struct {
	op, model, region string
	priority          limiter.Priority
}

// attrSets are the attribute sets built once per setKey, so that a
// measurement does not build and hash a set each time.
type attrSets struct {
	base, input, output, wait metric.MeasurementOption
}

// setsFor returns the cached attribute sets of c (bounded; past the bound
// they are built per call).
func (b *Bridge) setsFor(c *engine.Call, op string) *attrSets {
	k := setKey{op, c.ModelID, c.Region, c.Priority}
	if v, ok := b.sets.Load(k); ok {
		return v.(*attrSets)
	}
	s := &attrSets{
		base:   metric.WithAttributeSet(attribute.NewSet(b.attrs(c, op)...)),
		input:  metric.WithAttributeSet(attribute.NewSet(b.attrs(c, op, keyTokenType.String("input"))...)),
		output: metric.WithAttributeSet(attribute.NewSet(b.attrs(c, op, keyTokenType.String("output"))...)),
		wait:   metric.WithAttributeSet(attribute.NewSet(b.attrs(c, op, keyPriority.String(limiter.Name(c.Priority)))...)),
	}
	if b.nsets.Load() >= maxKeys {
		return s
	}
	if v, loaded := b.sets.LoadOrStore(k, s); loaded {
		return v.(*attrSets)
	}
	b.nsets.Add(1)
	return s
}

// observer is the Bridge seen as the guard's Observer; the methods live on
// their own type so that Bridge's API stays Option, Observer and Shutdown.
type observer Bridge

var _ engine.Observer = (*observer)(nil)

// Advised histogram buckets. The GenAI ones are those of the semantic
// conventions; a View can replace any of them.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	// The 0 bucket counts attempts admitted without waiting.
	waitBuckets  = []float64{0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80}
	ratioBuckets = []float64{0.5, 0.75, 0.9, 0.95, 1, 1.05, 1.1, 1.25, 1.5, 2, 4}
)

// maxKeys bounds the pacing keys the rate gauge reports.
const maxKeys = 1024

// New returns a Bridge with its instruments created, or an error from the
// meter provider.
func New(opts ...Option) (*Bridge, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	b := &Bridge{tracer: c.tp.Tracer(ScopeName), extra: c.attrs}
	m := c.mp.Meter(ScopeName)
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	b.tokenUsage, err = m.Int64Histogram(metricTokenUsage, metric.WithUnit("{token}"),
		metric.WithDescription("Input and output tokens per operation, as the service reported them."),
		metric.WithExplicitBucketBoundaries(tokenBuckets...))
	check(err)
	b.duration, err = m.Float64Histogram(metricOperationDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of a GenAI operation, pacing and retries included; for streams until the stream ends."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	check(err)
	b.firstChunk, err = m.Float64Histogram(metricTimeToFirstChunk, metric.WithUnit("s"),
		metric.WithDescription("Time from the start of a streaming operation to its first content event."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	check(err)
	b.throttles, err = m.Int64Counter(metricThrottles, metric.WithUnit("{throttle}"),
		metric.WithDescription("Throttles returned by Bedrock, by kind and stage."))
	check(err)
	b.retries, err = m.Int64Counter(metricRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries the retry policy scheduled, by the error retried."))
	check(err)
	b.budgetExhausted, err = m.Int64Counter(metricRetryBudgetExhausted, metric.WithUnit("{retry}"),
		metric.WithDescription("Retries refused because the shared retry budget was empty."))
	check(err)
	b.paceWait, err = m.Float64Histogram(metricPacingWait, metric.WithUnit("s"),
		metric.WithDescription("Time each admitted attempt waited for the request and token buckets."),
		metric.WithExplicitBucketBoundaries(waitBuckets...))
	check(err)
	b.paceRejected, err = m.Int64Counter(metricPacingRejected, metric.WithUnit("{request}"),
		metric.WithDescription("Attempts pacing refused: deadline, too large, or canceled while waiting."))
	check(err)
	b.reserved, err = m.Int64Counter(metricTokensReserved, metric.WithUnit("{token}"),
		metric.WithDescription("Tokens reserved at admission (input estimate + max tokens x burndown)."))
	check(err)
	b.settled, err = m.Int64Counter(metricTokensSettled, metric.WithUnit("{token}"),
		metric.WithDescription("Tokens settled with the usage the service reported (input + cache writes + output x burndown)."))
	check(err)
	b.estimateRatio, err = m.Float64Histogram(metricEstimateRatio, metric.WithUnit("1"),
		metric.WithDescription("Estimated input tokens divided by the input tokens the service reported (1 is exact)."),
		metric.WithExplicitBucketBoundaries(ratioBuckets...))
	check(err)
	b.rate, err = m.Float64ObservableGauge(metricPacingRate, metric.WithUnit("1/min"),
		metric.WithDescription("Current adaptive rate per pacing key, in requests or tokens per minute; absent while a limit is not paced."))
	check(err)
	b.storeErrors, err = m.Int64ObservableCounter(metricPacingStoreErrors, metric.WithUnit("{error}"),
		metric.WithDescription("Pacing store calls that failed (a shared store down) and were served by local pacing instead."))
	check(err)
	check(b.cost.init(m, &c))
	check(b.spill.init(m))
	if len(errs) == 0 {
		b.registration, err = m.RegisterCallback(b.observeRates, b.rate, b.storeErrors)
		check(err)
	}
	if len(errs) == 0 {
		check(b.capacity.init(m, b))
	}
	if len(errs) == 0 {
		check(b.daily.init(m, b))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return b, nil
}

// Option returns b as a bedrockguard option:
//
//	bedrockguard.Install(&cfg, bridge.Option())
func (b *Bridge) Option() bedrockguard.Option { return bedrockguard.WithObserver(b.Observer()) }

// Observer returns b as a bedrockguard.Observer, for programs that combine
// it with observers of their own.
func (b *Bridge) Observer() bedrockguard.Observer { return (*observer)(b) }

// Shutdown unregisters the callbacks of the bridge's asynchronous
// instruments (pacing rate and quota, store errors, tokens per day). It
// records none of them afterwards; spans and other metrics are unaffected.
func (b *Bridge) Shutdown() error {
	if b.registration == nil {
		return nil
	}
	return errors.Join(b.registration.Unregister(), b.capacity.shutdown(), b.daily.shutdown())
}

// remember records c's pacing key for the rate gauge, once per key.
func (b *Bridge) remember(c *engine.Call) {
	key, _ := engine.Key(c)
	if b.rememberLatest(key, c) || b.nkeys.Load() >= maxKeys {
		return
	}
	if _, loaded := b.keys.LoadOrStore(key, c); !loaded {
		b.nkeys.Add(1)
	}
}

// observeRates reports the current adaptive rate of every key seen, per
// minute, for the limits being paced, and the store errors of every guard
// seen.
func (b *Bridge) observeRates(ctx context.Context, o metric.Observer) error {
	var storeErrors int64
	limiters := map[*limiter.Limiter]bool{}
	b.keys.Range(func(_, v any) bool {
		c := v.(*engine.Call)
		if n, l := engine.StoreErrors(c); l != nil && !limiters[l] {
			limiters[l] = true
			storeErrors += n
		}
		st := engine.PacingState(ctx, c)
		perMinute := float64(time.Minute) / float64(windowOf(c))
		for _, axis := range [...]pacing.Axis{pacing.Requests, pacing.Tokens} {
			r := st.Rate[axis]
			if !st.Limited[axis] || math.IsInf(r, 0) || math.IsNaN(r) {
				continue
			}
			attrs := []attribute.KeyValue{
				keyPacingLimit.String(axisName[axis]),
				keyRequestModel.String(c.ModelID),
				keyCloudRegion.String(c.Region),
			}
			if src := engine.QuotaSource(c); src != "" {
				attrs = append(attrs, keyQuotaSource.String(src))
			}
			o.ObserveFloat64(b.rate, r*perMinute, metric.WithAttributes(b.with(attrs...)...))
		}
		return true
	})
	if len(limiters) > 0 {
		o.ObserveInt64(b.storeErrors, storeErrors, metric.WithAttributes(b.with()...))
	}
	return nil
}

// axisName is the aws.bedrock.pacing.limit value of each axis.
var axisName = [...]string{pacing.Requests: "requests", pacing.Tokens: "tokens"}

func windowOf(c *engine.Call) time.Duration {
	_, l := engine.Key(c)
	if l.Window > 0 {
		return l.Window
	}
	return time.Minute
}

// attrs returns the bounded attributes every metric of c carries (the
// base ones and those of WithAttributes), followed by more.
func (b *Bridge) attrs(c *engine.Call, op string, more ...attribute.KeyValue) []attribute.KeyValue {
	kv := make([]attribute.KeyValue, 0, 4+len(b.extra)+len(more))
	kv = append(kv, b.extra...)
	kv = append(kv,
		keyOperationName.String(op),
		keyProviderName.String(providerBedrock),
		keyRequestModel.String(c.ModelID),
		keyCloudRegion.String(c.Region),
	)
	return append(kv, more...)
}

// with returns kv preceded by the attributes of WithAttributes.
func (b *Bridge) with(kv ...attribute.KeyValue) []attribute.KeyValue {
	if len(b.extra) == 0 {
		return kv
	}
	return append(append(make([]attribute.KeyValue, 0, len(b.extra)+len(kv)), b.extra...), kv...)
}
