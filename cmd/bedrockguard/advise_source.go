package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// This file reads the metrics `advise` works from: a guard's Prometheus
// endpoint (two scrapes, window apart) or a Prometheus server's HTTP API
// (increase over window). Both give the same shape: one value per series,
// the increase over the window for counters and histograms, the current
// value for gauges.

// series is one time series: its Prometheus name, labels and value.
type series struct {
	name   string
	labels map[string]string
	value  float64
}

// readings are the series of one measurement and the period the counter
// increases cover.
type readings struct {
	series []series
	window time.Duration
	source string // for the report's first line
}

// counterNames are the counter and histogram series advise reads as
// increases; gaugeNames are read as current values.
var (
	counterNames = []string{
		"gen_ai_client_token_usage_bucket", "gen_ai_client_token_usage_sum", "gen_ai_client_token_usage_count",
		"gen_ai_client_operation_duration_seconds_sum", "gen_ai_client_operation_duration_seconds_count",
		"aws_bedrock_request_max_tokens_sum", "aws_bedrock_request_max_tokens_count",
		"aws_bedrock_attempts_sum", "aws_bedrock_attempts_count",
		"aws_bedrock_pacing_wait_seconds_sum", "aws_bedrock_pacing_wait_seconds_count",
		"aws_bedrock_pacing_rejected_total",
		"aws_bedrock_tokens_reserved_total", "aws_bedrock_tokens_settled_total",
		"aws_bedrock_throttles_total", "aws_bedrock_cost_usd_total",
	}
	gaugeNames = []string{
		"aws_bedrock_pacing_quota_per_min", "aws_bedrock_pacing_rate_per_min",
		"aws_bedrock_tokens_per_day_remaining", "aws_bedrock_tokens_per_day_exhaustion_seconds",
	}
	// groupLabels are the labels advise keeps (Prometheus mode sums by
	// them); every other label is summed over.
	groupLabels = []string{
		"gen_ai_request_model", "cloud_region", "le", "gen_ai_token_type",
		"aws_bedrock_pacing_limit", "aws_bedrock_quota_source", "aws_bedrock_throttle_kind",
	}
)

// matcher is the -match filter: exact label values.
type matcher map[string]string

func parseMatch(s string) (matcher, error) {
	m := matcher{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.Trim(v, `"`)
		if !ok || !model.UTF8Validation.IsValidLabelName(k) || k == "" {
			return nil, fmt.Errorf("-match %q: want label=value[,label=value...]", s)
		}
		m[k] = v
	}
	return m, nil
}

func (m matcher) matches(labels map[string]string) bool {
	for k, v := range m {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// promQL returns m as PromQL matchers, each followed by a comma.
func (m matcher) promQL() string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s,", k, strconv.Quote(m[k]))
	}
	return b.String()
}

// scrape reads a Prometheus text exposition and flattens it into series.
func scrape(ctx context.Context, client *http.Client, u string) (map[string]series, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", u, err)
	}
	out := map[string]series{}
	add := func(name string, lp []*dto.LabelPair, extra map[string]string, v float64) {
		labels := make(map[string]string, len(lp)+len(extra))
		for _, p := range lp {
			labels[p.GetName()] = p.GetValue()
		}
		for k, val := range extra {
			labels[k] = val
		}
		s := series{name: name, labels: labels, value: v}
		out[seriesKey(s)] = s
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				if !strings.HasSuffix(name, "_total") {
					name += "_total"
				}
				add(name, m.GetLabel(), nil, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m.GetLabel(), nil, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m.GetLabel(), nil, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					add(name+"_bucket", m.GetLabel(), map[string]string{"le": formatLe(b.GetUpperBound())}, float64(b.GetCumulativeCount()))
				}
				add(name+"_bucket", m.GetLabel(), map[string]string{"le": "+Inf"}, float64(h.GetSampleCount()))
				add(name+"_sum", m.GetLabel(), nil, h.GetSampleSum())
				add(name+"_count", m.GetLabel(), nil, float64(h.GetSampleCount()))
			}
		}
	}
	return out, nil
}

func formatLe(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func seriesKey(s series) string {
	keys := make([]string, 0, len(s.labels))
	for k := range s.labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(s.name)
	for _, k := range keys {
		b.WriteString("\xff" + k + "=" + s.labels[k])
	}
	return b.String()
}

// isCounter reports whether a series name is read as an increase.
func isCounter(name string) bool {
	for _, suf := range []string{"_total", "_bucket", "_sum", "_count"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

// delta turns two scrapes into readings: counters as their increase
// (a series absent from the first scrape started from 0: the OTel exporter
// shows a counter from its first increment; a decrease is a restart),
// gauges as their last value. Only series matching m are kept.
func delta(before, after map[string]series, m matcher) []series {
	var out []series
	for k, s := range after {
		if !m.matches(s.labels) {
			continue
		}
		if isCounter(s.name) {
			if b, ok := before[k]; ok && b.value <= s.value {
				s.value -= b.value
			}
		}
		out = append(out, s)
	}
	return out
}

// fromEndpoint scrapes a metrics endpoint twice, window apart.
func fromEndpoint(ctx context.Context, client *http.Client, u string, window time.Duration, m matcher) (readings, error) {
	before, err := scrape(ctx, client, u)
	if err != nil {
		return readings{}, err
	}
	start := time.Now()
	t := time.NewTimer(window)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return readings{}, ctx.Err()
	}
	after, err := scrape(ctx, client, u)
	if err != nil {
		return readings{}, err
	}
	return readings{series: delta(before, after, m), window: time.Since(start),
		source: fmt.Sprintf("%s, 2 scrapes %v apart", u, window)}, nil
}

// fromPrometheus asks a Prometheus server for the increase of every
// counter over window and the current value of every gauge.
func fromPrometheus(ctx context.Context, client *http.Client, base string, window time.Duration, m matcher) (readings, error) {
	r := readings{window: window, source: fmt.Sprintf("%s, the last %v", base, window)}
	rng := model.Duration(window).String()
	by := strings.Join(groupLabels, ", ")
	sel := m.promQL()
	for _, name := range counterNames {
		q := fmt.Sprintf("sum by (%s) (increase(%s{%s}[%s]))", by, name, sel, rng)
		ss, err := promQuery(ctx, client, base, name, q)
		if err != nil {
			return r, err
		}
		r.series = append(r.series, ss...)
	}
	for _, name := range gaugeNames {
		q := fmt.Sprintf("max by (%s) (%s{%s})", by, name, sel)
		ss, err := promQuery(ctx, client, base, name, q)
		if err != nil {
			return r, err
		}
		r.series = append(r.series, ss...)
	}
	return r, nil
}

// promQuery runs one instant query and names its samples name.
func promQuery(ctx context.Context, client *http.Client, base, name, q string) ([]series, error) {
	u := strings.TrimRight(base, "/") + "/api/v1/query?" + url.Values{"query": {q}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", base, resp.Status, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s: query %q: %s", base, q, body.Error)
	}
	out := make([]series, 0, len(body.Data.Result))
	for _, res := range body.Data.Result {
		s, _ := res.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		out = append(out, series{name: name, labels: res.Metric, value: v})
	}
	return out, nil
}

var errNoSource = errors.New("give -metrics URL (a guard's Prometheus endpoint) or -prometheus URL (a Prometheus server)")
