package otelbridge

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/internal/engine"
)

// Price is what one model costs, in US dollars per 1,000 tokens of each
// kind, as on the Amazon Bedrock pricing page for the Region and the
// on-demand tier you use. The bridge ships no prices: they differ by
// Region, change over time and are not in any API the SDK calls, so the
// application supplies them with [WithPrices].
//
// The usage Bedrock reports splits the prompt in three: InputPer1K applies
// to the uncached input tokens, CacheReadPer1K to the tokens read from the
// prompt cache and CacheWritePer1K to the tokens written to it. A zero field
// makes those tokens free (for example a model without prompt caching).
type Price struct {
	// InputPer1K is the price of 1,000 uncached input tokens, in USD.
	InputPer1K float64
	// OutputPer1K is the price of 1,000 output tokens, in USD.
	OutputPer1K float64
	// CacheReadPer1K is the price of 1,000 input tokens read from the
	// prompt cache, in USD.
	CacheReadPer1K float64
	// CacheWritePer1K is the price of 1,000 input tokens written to the
	// prompt cache, in USD.
	CacheWritePer1K float64
}

// cost returns what usage u cost at p, in USD.
func (p Price) cost(u engine.Usage) float64 {
	return (float64(u.InputTokens)*p.InputPer1K +
		float64(u.OutputTokens)*p.OutputPer1K +
		float64(u.CacheReadInputTokens)*p.CacheReadPer1K +
		float64(u.CacheWriteInputTokens)*p.CacheWritePer1K) / 1000
}

// maxPricePer1K bounds every price: far above any model's (dollars per
// 1,000 tokens), low enough to catch a price per million typed as per 1,000
// by mistake only when it is absurd.
const maxPricePer1K = 1000

func (p Price) validate(option string) error {
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"InputPer1K", p.InputPer1K}, {"OutputPer1K", p.OutputPer1K}, {"CacheReadPer1K", p.CacheReadPer1K}, {"CacheWritePer1K", p.CacheWritePer1K}} {
		if math.IsNaN(f.v) || f.v < 0 || f.v > maxPricePer1K {
			return optionError(option, fmt.Errorf("%s %v is outside [0, %d] USD per 1,000 tokens", f.name, f.v, maxPricePer1K))
		}
	}
	return nil
}

// optionError is the error of an invalid option of [New]: a
// *bedrockguard.OptionError whose Option is "otelbridge." followed by the
// option's name, like those of the guard's own options.
func optionError(option string, err error) error {
	return &bedrockguard.OptionError{Option: "otelbridge." + option, Err: err}
}

// WithPrices gives the bridge a price per model ID, so that it counts what
// the traffic costs in US dollars: the counter aws.bedrock.cost.usd
// (Prometheus aws_bedrock_cost_usd_total), by model and region, from the
// usage Bedrock reports for every call that completed (throttled and
// failed attempts report no usage and cost nothing). Keys are the model
// IDs, inference profile IDs or ARNs the application calls; a call to a
// profile ID such as "us.anthropic.claude-..." with no price of its own
// uses the price of its model ID without the geography prefix. A call
// served by a spillover route is priced at the route's model (and counted
// under the model the application asked for). Calls to models without a
// price are not counted. Repeated options add up; a later
// price for the same model ID wins.
//
// A negative, NaN or absurd price (over 1,000 USD per 1,000 tokens), or an
// empty model ID, makes [New] fail with a *bedrockguard.OptionError.
func WithPrices(prices map[string]Price) Option {
	return func(c *config) {
		if c.prices == nil {
			c.prices = map[string]Price{}
		}
		ids := make([]string, 0, len(prices))
		for id := range prices {
			ids = append(ids, id)
		}
		sort.Strings(ids) // the first invalid one in a stable order
		for _, id := range ids {
			p := prices[id]
			name := fmt.Sprintf("WithPrices(%q)", id)
			if id == "" {
				c.errs = append(c.errs, optionError("WithPrices", fmt.Errorf("empty model ID")))
				continue
			}
			if err := p.validate(name); err != nil {
				c.errs = append(c.errs, err)
				continue
			}
			c.prices[id] = p
		}
	}
}

// maxTenantLimit bounds WithTenantAttribute's limit: each tenant value is a
// series of every metric that carries it.
const maxTenantLimit = 10_000

// tenantOther is the aws.bedrock.tenant value of the tenants past the
// limit of WithTenantAttribute.
const tenantOther = "other"

// WithTenantAttribute adds the caller's tenant (bedrockguard's tenant
// context value) as the attribute aws.bedrock.tenant (Prometheus label
// aws_bedrock_tenant) to the cost counter of [WithPrices]. Tenant IDs are
// the application's data, so they reach telemetry only with this option,
// and never spans or logs. At most limit distinct tenants get their own
// value, the first ones seen; calls of later tenants are counted under
// "other", so the series stay bounded whatever the tenants. Calls without a
// tenant carry no such attribute.
//
// A limit under 1 or over 10,000 makes [New] fail with a
// *bedrockguard.OptionError.
func WithTenantAttribute(limit int) Option {
	return func(c *config) {
		if limit < 1 || limit > maxTenantLimit {
			c.errs = append(c.errs, optionError("WithTenantAttribute", fmt.Errorf("limit %d is outside [1, %d]", limit, maxTenantLimit)))
			return
		}
		c.tenantLimit = limit
	}
}

// costMetrics is the cost counter and what it needs.
type costMetrics struct {
	counter metric.Float64Counter
	prices  map[string]Price // nil: no cost counted

	tenantLimit int32    // 0: no tenant attribute
	tenants     sync.Map // tenant -> struct{}, the first tenantLimit seen
	ntenants    atomic.Int32
}

func (cm *costMetrics) init(m metric.Meter, c *config) error {
	if len(c.prices) == 0 {
		return nil
	}
	cm.prices, cm.tenantLimit = c.prices, int32(c.tenantLimit)
	var err error
	cm.counter, err = m.Float64Counter(metricCost, metric.WithUnit("{USD}"),
		metric.WithDescription("What the calls cost in US dollars, from the usage the service reported and the prices given to the bridge."))
	return err
}

// priceOf returns the price of a model ID: its own, or that of the model
// ID without an inference profile's geography prefix.
func (cm *costMetrics) priceOf(modelID string) (Price, bool) {
	if p, ok := cm.prices[modelID]; ok {
		return p, true
	}
	id := modelID
	if i := strings.LastIndex(id, "/"); i >= 0 && strings.HasPrefix(id, "arn:") {
		id = id[i+1:]
		if p, ok := cm.prices[id]; ok {
			return p, true
		}
	}
	for _, geo := range profileGeos {
		if rest, ok := strings.CutPrefix(id, geo); ok {
			p, ok := cm.prices[rest]
			return p, ok
		}
	}
	return Price{}, false
}

// profileGeos are the geography prefixes of cross-Region inference
// profile IDs.
var profileGeos = [...]string{"us.", "eu.", "apac.", "global.", "jp.", "au.", "ca.", "us-gov."}

// tenant returns the aws.bedrock.tenant value of a tenant ID: itself while
// under the limit, "other" past it.
func (cm *costMetrics) tenant(id string) string {
	if _, ok := cm.tenants.Load(id); ok {
		return id
	}
	if cm.ntenants.Add(1) > cm.tenantLimit {
		cm.ntenants.Add(-1)
		return tenantOther
	}
	if _, loaded := cm.tenants.LoadOrStore(id, struct{}{}); loaded {
		cm.ntenants.Add(-1)
	}
	return id
}

// record counts the cost of one settled attempt.
func (cm *costMetrics) record(ctx context.Context, b *Bridge, c *engine.Call, op string, u engine.Usage) {
	if cm.prices == nil {
		return
	}
	served := c.ModelID
	if c.ServedModelID != "" {
		served = c.ServedModelID // a spillover route's model: its price
	}
	p, ok := cm.priceOf(served)
	if !ok {
		return
	}
	usd := p.cost(u)
	if usd <= 0 {
		return
	}
	if cm.tenantLimit > 0 && c.Tenant != "" {
		cm.counter.Add(ctx, usd, metric.WithAttributes(b.attrs(c, op, keyTenant.String(cm.tenant(c.Tenant)))...))
		return
	}
	cm.counter.Add(ctx, usd, metric.WithAttributes(b.attrs(c, op)...))
}

// keyTenant is aws.bedrock.tenant: the caller's tenant, on the cost counter
// only, and only with WithTenantAttribute.
const keyTenant = attribute.Key("aws.bedrock.tenant")

// metricCost counts what the calls cost, in US dollars ({USD}).
const metricCost = "aws.bedrock.cost.usd"
