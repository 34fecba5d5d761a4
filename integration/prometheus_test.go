package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Paths of the deploy/ files under test, relative to this directory.
var (
	rulesFile     = filepath.Join("..", "deploy", "prometheus", "bedrockguard-alerts.yml")
	dashboardFile = filepath.Join("..", "deploy", "grafana", "bedrockguard-dashboard.json")
)

// throttleMetric is the Prometheus name of the throttle counter, by which
// the tests recognize the throttle alerts.
const throttleMetric = "aws_bedrock_throttles_total"

// prometheus is a Prometheus started by a test.
type prometheus struct {
	proc *process
	URL  string
}

// ruleFile is the shape of a Prometheus rules file; rules are kept as
// generic YAML maps so that rewriting keeps every field.
type ruleFile struct {
	Groups []struct {
		Name     string           `yaml:"name"`
		Interval string           `yaml:"interval,omitempty"`
		Rules    []map[string]any `yaml:"rules"`
	} `yaml:"groups"`
}

// alertRule is one alerting rule of the rules file.
type alertRule struct {
	Name, Expr, For string
}

// testRules reads deploy/prometheus/bedrockguard-alerts.yml and returns a
// test copy in which every alert's "for" is 0s, and its alerts. An alert
// with for: 10m cannot fire within a demo of a few seconds, and the copy
// changes nothing else: the expressions, thresholds and rate windows are
// the real ones. Group intervals are dropped so that the global 1s
// evaluation interval applies.
func testRules(t *testing.T) ([]byte, []alertRule) {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatalf("the alert rules: %v", err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	var alerts []alertRule
	for gi := range rf.Groups {
		rf.Groups[gi].Interval = ""
		for _, r := range rf.Groups[gi].Rules {
			name, ok := r["alert"].(string)
			if !ok {
				continue
			}
			a := alertRule{Name: name, Expr: fmt.Sprint(r["expr"])}
			if f, ok := r["for"]; ok {
				a.For = fmt.Sprint(f)
				r["for"] = "0s"
			}
			alerts = append(alerts, a)
		}
	}
	out, err := yaml.Marshal(rf)
	if err != nil {
		t.Fatal(err)
	}
	return out, alerts
}

// startPrometheus starts Prometheus on a free loopback port with its data
// in a temporary directory, scraping target every second and evaluating
// rules (a rules file's content) every second.
func startPrometheus(t *testing.T, target string, rules []byte) *prometheus {
	t.Helper()
	bin := findBinary(t, "PROMETHEUS_BIN", "run integration/ci-setup.sh, or: apt-get install -y prometheus", "prometheus")
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rulesPath, rules, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: bedrockguard-demo
    static_configs:
      - targets: ["%s"]
`, rulesPath, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := addr(freePort(t))
	p := &prometheus{URL: "http://" + listen}
	p.proc = start(t, "prometheus", bin, []string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + listen,
		"--log.level=warn",
	}, nil)
	poll(t, "Prometheus ready", 60*time.Second, func() error {
		_, err := httpGet(context.Background(), p.URL+"/-/ready")
		return err
	}, p.proc)
	return p
}

// promSeries is one series of a query result, with its samples (an
// instant vector has one).
type promSeries struct {
	Metric map[string]string
	Times  []time.Time
	Values []float64
}

// finite reports whether s has a value that is a number (not NaN, which
// histogram_quantile gives over no observations).
func (s promSeries) finite() bool {
	for _, v := range s.Values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			return true
		}
	}
	return false
}

// query runs an instant query at the given time.
func (p *prometheus) query(ctx context.Context, expr string, at time.Time) ([]promSeries, error) {
	q := url.Values{"query": {expr}, "time": {unixTime(at)}}
	return p.get(ctx, "/api/v1/query", q)
}

// queryRange runs a range query from start to end by step 1s.
func (p *prometheus) queryRange(ctx context.Context, expr string, start, end time.Time) ([]promSeries, error) {
	q := url.Values{"query": {expr}, "start": {unixTime(start)}, "end": {unixTime(end)}, "step": {"1"}}
	return p.get(ctx, "/api/v1/query_range", q)
}

func unixTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// get runs a query API call and returns the series of its result.
func (p *prometheus) get(ctx context.Context, path string, q url.Values) ([]promSeries, error) {
	expr := q.Get("query")
	body, err := httpGet(ctx, p.URL+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("%s %q: %s", path, expr, resp.Error)
	}
	var out []promSeries
	for _, r := range resp.Data.Result {
		s := promSeries{Metric: r.Metric}
		pairs := r.Values
		if r.Value != nil {
			pairs = [][]any{r.Value}
		}
		for _, pv := range pairs {
			if len(pv) != 2 {
				continue
			}
			ts, _ := pv[0].(float64)
			str, _ := pv[1].(string)
			v, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return nil, fmt.Errorf("%s %q: value %v: %w", path, expr, pv[1], err)
			}
			s.Times = append(s.Times, time.UnixMilli(int64(ts*1000)))
			s.Values = append(s.Values, v)
		}
		out = append(out, s)
	}
	return out, nil
}

// firstSample returns the time of the earliest sample in res, or zero.
func firstSample(res []promSeries) time.Time {
	var first time.Time
	for _, s := range res {
		for _, ts := range s.Times {
			if first.IsZero() || ts.Before(first) {
				first = ts
			}
		}
	}
	return first
}

// metricNames returns the names of every series Prometheus holds.
func (p *prometheus) metricNames(ctx context.Context) (map[string]bool, error) {
	body, err := httpGet(ctx, p.URL+"/api/v1/label/__name__/values")
	if err != nil {
		return nil, err
	}
	var resp struct {
		Data []string `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range resp.Data {
		names[n] = true
	}
	return names, nil
}

// rulesLoaded returns an error unless Prometheus has loaded every alert of
// alerts, healthy.
func (p *prometheus) rulesLoaded(ctx context.Context, alerts []alertRule) error {
	body, err := httpGet(ctx, p.URL+"/api/v1/rules")
	if err != nil {
		return err
	}
	var resp struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Type      string `json:"type"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return err
	}
	health := map[string]string{}
	for _, g := range resp.Data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				health[r.Name] = r.Health + " " + r.LastError
			}
		}
	}
	for _, a := range alerts {
		h, ok := health[a.Name]
		if !ok {
			return fmt.Errorf("alert %s not loaded", a.Name)
		}
		if !strings.HasPrefix(h, "ok") {
			return fmt.Errorf("alert %s: health %s", a.Name, h)
		}
	}
	return nil
}

// evaluatedAfter returns an error unless every rule group was last
// evaluated after t.
func (p *prometheus) evaluatedAfter(ctx context.Context, t time.Time) error {
	body, err := httpGet(ctx, p.URL+"/api/v1/rules")
	if err != nil {
		return err
	}
	var resp struct {
		Data struct {
			Groups []struct {
				Name           string    `json:"name"`
				LastEvaluation time.Time `json:"lastEvaluation"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return err
	}
	for _, g := range resp.Data.Groups {
		if !g.LastEvaluation.After(t) {
			return fmt.Errorf("group %s last evaluated at %v", g.Name, g.LastEvaluation)
		}
	}
	return nil
}

// identRE matches PromQL identifiers (metric and label names, functions,
// keywords), not inside quotes.
var identRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[a-zA-Z_:][a-zA-Z0-9_:]*`)

// withMatcher returns expr with the label matcher m (e.g.
// bedrockguard_mode="guarded") added to every selector of a metric named
// in metrics: `name{a="b"}` becomes `name{m,a="b"}`, a bare `name` becomes
// `name{m}`. Identifiers that are not metric names (functions, labels in
// by (...), keywords) are left alone, as are quoted strings. It is enough
// for the alert expressions of deploy/, which select metrics by name.
func withMatcher(expr, m string, metrics map[string]bool) string {
	var sb strings.Builder
	last := 0
	for _, loc := range identRE.FindAllStringIndex(expr, -1) {
		tok := expr[loc[0]:loc[1]]
		if !metrics[tok] {
			continue
		}
		sb.WriteString(expr[last:loc[1]])
		rest := strings.TrimLeft(expr[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "{") {
			skip := len(expr[loc[1]:]) - len(rest) + 1
			sb.WriteString(expr[loc[1] : loc[1]+skip])
			sb.WriteString(m)
			if !strings.HasPrefix(strings.TrimLeft(rest[1:], " \t\n"), "}") {
				sb.WriteString(",")
			}
			last = loc[1] + skip
		} else {
			sb.WriteString("{" + m + "}")
			last = loc[1]
		}
	}
	sb.WriteString(expr[last:])
	return sb.String()
}

// dashboardQuery is one panel target of the Grafana dashboard.
type dashboardQuery struct {
	Panel, RefID, Expr, Resolved string
}

// Values for Grafana's built-in variables in the dashboard's queries. The
// rate interval is Grafana's $__rate_interval for a 1s scrape and a short
// time range rounded up to a safe minute.
var grafanaBuiltins = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "5s",
	"__interval_ms":   "5000",
	"__range":         "1h",
	"__range_s":       "3600",
	"__range_ms":      "3600000",
}

// dashboardQueries parses the dashboard and returns every panel target's
// PromQL with the template variables resolved: a query variable with "All"
// (includeAll) takes its allValue (".*"), a constant or custom one its
// current value; Grafana's built-ins take grafanaBuiltins.
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatalf("the Grafana dashboard: %v", err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				IncludeAll bool   `json:"includeAll"`
				AllValue   string `json:"allValue"`
				Current    struct {
					Value any `json:"value"`
				} `json:"current"`
				Query any `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	vars := map[string]string{}
	for k, v := range grafanaBuiltins {
		vars[k] = v
	}
	for _, v := range d.Templating.List {
		switch {
		case v.Type == "datasource":
		case v.IncludeAll:
			vars[v.Name] = cmpOr(v.AllValue, ".*")
		default:
			cur := v.Current.Value
			if l, ok := cur.([]any); ok && len(l) > 0 {
				cur = l[0]
			}
			if s, ok := cur.(string); ok && s != "" {
				vars[v.Name] = s
			} else if s, ok := v.Query.(string); ok {
				vars[v.Name] = strings.Split(s, ",")[0]
			}
		}
	}
	varRE := regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)`)
	resolve := func(expr string) string {
		return varRE.ReplaceAllStringFunc(expr, func(m string) string {
			sub := varRE.FindStringSubmatch(m)
			name := sub[1] + sub[2] + sub[3]
			if v, ok := vars[name]; ok {
				return v
			}
			t.Errorf("dashboard query %q: unknown variable %s", expr, m)
			return m
		})
	}
	var out []dashboardQuery
	var walk func(raw []json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: panel: %v", dashboardFile, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr == "" {
					continue
				}
				out = append(out, dashboardQuery{Panel: p.Title, RefID: tg.RefID, Expr: tg.Expr, Resolved: resolve(tg.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		t.Fatalf("%s: no panel queries", dashboardFile)
	}
	return out
}

func cmpOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// selectorRE matches a metric name followed by its label matchers.
var selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{`)

// selectorNames returns the metric names of expr's selectors written as
// name{...} (every selector of the dashboard is).
func selectorNames(expr string) []string {
	var out []string
	for _, m := range selectorRE.FindAllStringSubmatch(expr, -1) {
		out = append(out, m[1])
	}
	return out
}

// exposedFamilies returns the metric family names the demo's /metrics
// endpoint shows now (histograms and counters by their sample names too).
func exposedFamilies(ctx context.Context, metricsURL string) (map[string]bool, error) {
	body, err := httpGet(ctx, metricsURL)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names, nil
}
