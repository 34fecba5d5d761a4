package otelbridge

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// Capacity metrics: what the guard paces against and what each operation
// asked for, so that alerts compare the adaptive rate with the quota and
// `bedrockguard advise` can size max_tokens and quota requests.
const (
	// metricPacingQuota is the quota per key and limit, per minute.
	metricPacingQuota = "aws.bedrock.pacing.quota"
	// metricAttempts is the histogram of attempts per operation.
	metricAttempts = "aws.bedrock.attempts"
	// metricRequestMaxTokens is the histogram of the max_tokens each
	// operation reserved ({token}).
	metricRequestMaxTokens = "aws.bedrock.request.max_tokens"
)

// Advised buckets of the capacity histograms.
var (
	attemptBuckets   = []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20}
	maxTokensBuckets = []float64{16, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072}
)

// capacityMetrics are the quota gauge and the attempts and max_tokens
// histograms.
type capacityMetrics struct {
	quota        metric.Float64ObservableGauge
	attempts     metric.Int64Histogram
	maxTokens    metric.Int64Histogram
	registration metric.Registration
}

func (cm *capacityMetrics) init(m metric.Meter, b *Bridge) error {
	var errs []error
	var err error
	cm.quota, err = m.Float64ObservableGauge(metricPacingQuota, metric.WithUnit("1/min"),
		metric.WithDescription("Quota the guard paces each key against, in requests or tokens per minute, where it is known (configured or discovered)."))
	errs = append(errs, err)
	cm.attempts, err = m.Int64Histogram(metricAttempts, metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts per operation, the first one included."),
		metric.WithExplicitBucketBoundaries(attemptBuckets...))
	errs = append(errs, err)
	cm.maxTokens, err = m.Int64Histogram(metricRequestMaxTokens, metric.WithUnit("{token}"),
		metric.WithDescription("Output tokens each operation reserved: the request's max_tokens, or the model's default when it sets none."),
		metric.WithExplicitBucketBoundaries(maxTokensBuckets...))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	cm.registration, err = m.RegisterCallback(b.observeQuotas, cm.quota)
	return err
}

// ended records an operation's attempts (with set: its base attributes
// and error.type) and its max_tokens (base attributes).
func (cm *capacityMetrics) ended(ctx context.Context, c *engine.Call, st *opState, set metric.MeasurementOption) {
	if n := engine.Attempts(c); n > 0 {
		cm.attempts.Record(ctx, int64(n), set)
	}
	if c.MaxTokens > 0 {
		cm.maxTokens.Record(ctx, int64(c.MaxTokens), st.sets.base)
	}
}

func (cm *capacityMetrics) shutdown() error {
	if cm.registration == nil {
		return nil
	}
	return cm.registration.Unregister()
}

// observeQuotas reports the quota of every key seen whose quota is known
// (configured or discovered), per axis and per minute. A learned quota has
// no value to report: the adaptive rate is all there is.
func (b *Bridge) observeQuotas(_ context.Context, o metric.Observer) error {
	b.keys.Range(func(_, v any) bool {
		c := v.(*engine.Call)
		src := engine.QuotaSource(c)
		if src == "learned" {
			return true
		}
		_, l := engine.Key(c)
		perMinute := float64(time.Minute) / float64(windowOfLimits(l))
		for _, q := range [...]struct {
			limit string
			v     float64
		}{{"requests", l.RequestsPerWindow}, {"tokens", l.TokensPerWindow}} {
			if q.v <= 0 {
				continue
			}
			attrs := []attribute.KeyValue{
				keyPacingLimit.String(q.limit),
				keyRequestModel.String(c.ModelID),
				keyCloudRegion.String(c.Region),
			}
			if src != "" {
				attrs = append(attrs, keyQuotaSource.String(src))
			}
			o.ObserveFloat64(b.capacity.quota, q.v*perMinute, metric.WithAttributes(b.with(attrs...)...))
		}
		return true
	})
	return nil
}

func windowOfLimits(l limiter.Limits) time.Duration {
	if l.Window > 0 {
		return l.Window
	}
	return time.Minute
}

// rememberLatest replaces the call remembered for c's key when c's quota
// differs (a discovered quota replaced a learned one), so that the quota
// gauge reports the quota in force. It returns whether the key was known.
func (b *Bridge) rememberLatest(key string, c *engine.Call) bool {
	v, ok := b.keys.Load(key)
	if !ok {
		return false
	}
	if _, old := engine.Key(v.(*engine.Call)); old != limitsOf(c) {
		b.keys.Store(key, c)
	}
	return true
}

func limitsOf(c *engine.Call) limiter.Limits {
	_, l := engine.Key(c)
	return l
}
