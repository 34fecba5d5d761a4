package otelbridge

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/metric"

	"github.com/bedrockguard/bedrockguard/internal/engine"
)

// Tokens-per-day metrics: what is left of each key's daily quota and when
// it runs out at the current rate, for the TokensPerDayExhaustionSoon alert.
const (
	// metricDayRemaining is the tokens left in a key's day ({token}).
	metricDayRemaining = "aws.bedrock.tokens_per_day.remaining"
	// metricDayExhaustion is the forecast time until a key's day runs out
	// at the current usage rate (s); absent while the remainder is not
	// falling.
	metricDayExhaustion = "aws.bedrock.tokens_per_day.exhaustion"
)

// dailyMetrics are the tokens-per-day gauges.
type dailyMetrics struct {
	remaining    metric.Float64ObservableGauge
	exhaustion   metric.Float64ObservableGauge
	registration metric.Registration
}

func (dm *dailyMetrics) init(m metric.Meter, b *Bridge) error {
	var errs []error
	var err error
	dm.remaining, err = m.Float64ObservableGauge(metricDayRemaining, metric.WithUnit("{token}"),
		metric.WithDescription("Tokens left of each key's tokens-per-day quota, as the guard counts them (only keys with a TokensPerDay quota)."))
	errs = append(errs, err)
	dm.exhaustion, err = m.Float64ObservableGauge(metricDayExhaustion, metric.WithUnit("s"),
		metric.WithDescription("Forecast time until each key's tokens-per-day quota runs out at the current usage rate; absent while it is not falling."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	dm.registration, err = m.RegisterCallback(b.observeDays, dm.remaining, dm.exhaustion)
	return err
}

func (dm *dailyMetrics) shutdown() error {
	if dm.registration == nil {
		return nil
	}
	return dm.registration.Unregister()
}

// observeDays reports the day's remainder and its exhaustion forecast for
// every key seen that has a tokens-per-day quota. Each collection also
// feeds the guard's measurement of the usage rate.
func (b *Bridge) observeDays(ctx context.Context, o metric.Observer) error {
	b.keys.Range(func(_, v any) bool {
		c := v.(*engine.Call)
		ds := engine.DayState(ctx, c)
		if !ds.Limited {
			return true
		}
		set := metric.WithAttributes(b.with(keyRequestModel.String(c.ModelID), keyCloudRegion.String(c.Region))...)
		o.ObserveFloat64(b.daily.remaining, ds.Remaining, set)
		if ds.EmptyIn > 0 {
			o.ObserveFloat64(b.daily.exhaustion, ds.EmptyIn.Seconds(), set)
		}
		return true
	})
	return nil
}
