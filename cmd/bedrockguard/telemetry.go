package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// defaultExportInterval is the OTLP metric export interval when
// OTEL_METRIC_EXPORT_INTERVAL is unset: short, so a demo run shows up soon.
const defaultExportInterval = 5 * time.Second

// telemetry is the demo's OpenTelemetry setup: OTLP over HTTP when the
// standard environment asks for it, a Prometheus endpoint when an address
// is given, no-op providers otherwise.
type telemetry struct {
	tp trace.TracerProvider
	mp metric.MeterProvider

	traces  *sdktrace.TracerProvider // nil without OTLP traces
	metrics *sdkmetric.MeterProvider // nil without any metric reader
	server  *http.Server
	// where lists where the data goes, for the start banner.
	where []string
	// metricsURL is the Prometheus endpoint's URL, if any.
	metricsURL string
}

// otlpEndpoint returns the OTLP endpoint for a signal ("TRACES" or
// "METRICS") from the standard environment, or "".
func otlpEndpoint(signal string) string {
	if v := os.Getenv("OTEL_EXPORTER_OTLP_" + signal + "_ENDPOINT"); v != "" {
		return v
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
}

// checkReachable fails fast, with a clear message, when nothing listens at
// an OTLP endpoint; the exporters would otherwise only log failed exports.
func checkReachable(ctx context.Context, name, endpoint string) error {
	host := endpoint
	if u, err := url.Parse(endpoint); err == nil && u.Host != "" {
		host = u.Host
		if u.Port() == "" {
			port := "80"
			if u.Scheme == "https" {
				port = "443"
			}
			host = net.JoinHostPort(u.Hostname(), port)
		}
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("%s endpoint %s is unreachable: %w", name, endpoint, err)
	}
	return conn.Close()
}

// setupTelemetry builds the providers. metricsAddr, if not empty, is where
// the Prometheus /metrics endpoint listens.
func setupTelemetry(ctx context.Context, metricsAddr string) (*telemetry, error) {
	tel := &telemetry{tp: tracenoop.NewTracerProvider(), mp: metricnoop.NewMeterProvider()}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "bedrockguard-demo")),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	var readers []sdkmetric.Option
	if ep := otlpEndpoint("TRACES"); ep != "" {
		if err := checkReachable(ctx, "OTLP traces", ep); err != nil {
			return nil, err
		}
		exp, err := otlptracehttp.New(ctx) // reads the OTEL_EXPORTER_OTLP_* variables
		if err != nil {
			return nil, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		tel.traces = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		tel.tp = tel.traces
		tel.where = append(tel.where, "traces  -> OTLP "+ep)
	}
	if ep := otlpEndpoint("METRICS"); ep != "" {
		if err := checkReachable(ctx, "OTLP metrics", ep); err != nil {
			tel.shutdown(ctx)
			return nil, err
		}
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			tel.shutdown(ctx)
			return nil, fmt.Errorf("OTLP metric exporter: %w", err)
		}
		var opts []sdkmetric.PeriodicReaderOption
		if os.Getenv("OTEL_METRIC_EXPORT_INTERVAL") == "" {
			opts = append(opts, sdkmetric.WithInterval(defaultExportInterval))
		}
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, opts...)))
		tel.where = append(tel.where, "metrics -> OTLP "+ep)
	}
	if metricsAddr != "" {
		reg := prometheus.NewRegistry()
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			tel.shutdown(ctx)
			return nil, fmt.Errorf("the Prometheus exporter: %w", err)
		}
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			tel.shutdown(ctx)
			return nil, fmt.Errorf("%w: -metrics-addr %s: %v", errUsage, metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
		tel.server = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go tel.server.Serve(ln)
		tel.metricsURL = "http://" + ln.Addr().String() + "/metrics"
		readers = append(readers, sdkmetric.WithReader(exp))
		tel.where = append(tel.where, "metrics -> Prometheus "+tel.metricsURL)
	}
	if len(readers) > 0 {
		tel.metrics = sdkmetric.NewMeterProvider(append(readers, sdkmetric.WithResource(res))...)
		tel.mp = tel.metrics
	}
	return tel, nil
}

// flush exports what is buffered now, so traces and metrics are visible
// while the process holds.
func (tel *telemetry) flush(ctx context.Context) error {
	var errs []error
	if tel.traces != nil {
		errs = append(errs, tel.traces.ForceFlush(ctx))
	}
	if tel.metrics != nil {
		errs = append(errs, tel.metrics.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// shutdown flushes and stops the providers and the metrics server.
func (tel *telemetry) shutdown(ctx context.Context) error {
	var errs []error
	if tel.traces != nil {
		errs = append(errs, tel.traces.Shutdown(ctx))
	}
	if tel.metrics != nil {
		errs = append(errs, tel.metrics.Shutdown(ctx))
	}
	if tel.server != nil {
		errs = append(errs, tel.server.Shutdown(ctx))
	}
	return errors.Join(errs...)
}
