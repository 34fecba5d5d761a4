package quotas

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/bedrockguard/bedrockguard"
)

// Entry is one Bedrock quota: what Service Quotas says about it, its parsed
// name and the model or inference-profile IDs it applies to.
type Entry struct {
	// Scope is which way of calling the model the quota counts:
	// "on-demand" (calls to the bare model ID), "cross-region" (calls to
	// the geographic inference profiles us., eu., apac. … made from the
	// Region, wherever they are served), "global-cross-region" (calls to the
	// global. profile), or "any" for a name without a scope, such as "Model
	// invocation max tokens per day for M", which counts every route.
	Scope string `json:"scope"`
	// Kind is what the quota limits: "tokens-per-minute" (the guard's
	// Quota.TokensPerWindow), "requests-per-minute" (Quota.RequestsPerWindow;
	// no longer enforced by Bedrock since 2026) or "tokens-per-day"
	// (Quota.TokensPerDay).
	Kind string `json:"kind"`
	// Model is the model's display name as the quota name writes it,
	// without the suffixes below, e.g. "Anthropic Claude Sonnet 4.5".
	Model string `json:"model"`
	// Version is the " V<n>" suffix of the name, upper-cased ("V1", "V2"),
	// or empty.
	Version string `json:"version,omitempty"`
	// Context is a context-length variant such as "1M" ("… 1M Context
	// Length"), which has a quota of its own; empty for the standard one.
	Context string `json:"context,omitempty"`
	// Note is a trailing parenthetical of the name that is neither a
	// context variant nor a release number.
	Note string `json:"note,omitempty"`
	// QuotaName is the name as Service Quotas returned it.
	QuotaName string `json:"quotaName"`
	// QuotaCode identifies the quota, e.g. "L-59759B4A", for
	// RequestServiceQuotaIncrease.
	QuotaCode string `json:"quotaCode"`
	// Value is the quota value in the Region: the applied value, or the
	// AWS default when the applied value was not listed (see Applied).
	Value float64 `json:"value"`
	// Default is the AWS default value; zero unless discovered with
	// [WithDefaults].
	Default float64 `json:"default,omitempty"`
	// Applied is true when Value came from ListServiceQuotas (the account's
	// applied value), false when it is the AWS default.
	Applied bool `json:"applied"`
	// Adjustable says whether an increase can be requested.
	Adjustable bool `json:"adjustable"`
	// ModelID is the base model ID the display name maps to; empty when
	// the model is not in the table: add it with [WithModel].
	ModelID string `json:"modelId,omitempty"`
	// IDs are the model or inference-profile IDs the quota applies to:
	// the bare model ID for on-demand quotas, the geographic profiles
	// callable from the Region for cross-region ones, global. for global
	// ones, all of them for quotas without a scope.
	IDs []string `json:"ids,omitempty"`
}

// Unparsed is a Bedrock quota whose name is not a per-model runtime quota
// bedrockguard understands, such as "Cross-Model Max Tokens Per Day" or a
// batch inference quota. It is kept and reported, never an error.
type Unparsed struct {
	// QuotaName, QuotaCode and Value are as Service Quotas returned them.
	QuotaName string  `json:"quotaName"`
	QuotaCode string  `json:"quotaCode"`
	Value     float64 `json:"value"`
	// Reason says what was missing or not supported.
	Reason string `json:"reason"`
}

// Catalog is the result of [Discover]: Bedrock's runtime quotas of one
// Region, mapped to model and inference-profile IDs. It is read-only once
// made and safe for concurrent use.
type Catalog struct {
	// Region is the Region the quotas were listed in, when known.
	Region string `json:"region,omitempty"`
	// FetchedAt is when the quotas were listed.
	FetchedAt time.Time `json:"fetchedAt"`
	// Entries are the parsed quotas, sorted by model ID, scope, kind and
	// quota name; those whose model is not in the table (no ModelID) come
	// last.
	Entries []Entry `json:"entries"`
	// Unparsed are the quotas whose names were not understood.
	Unparsed []Unparsed `json:"unparsed,omitempty"`

	byID map[string]bedrockguard.Quota
}

// newCatalog builds a catalog from the quotas listed. applied are the
// account's applied values, defaults the AWS defaults (either may be nil);
// a default whose quota code is not among applied is used as the value.
func newCatalog(applied, defaults []types.ServiceQuota, cfg config) *Catalog {
	c := &Catalog{Region: cfg.region, FetchedAt: time.Now()}
	idx := newModelIndex(cfg.models)
	geos := geoPrefixes(cfg.region)
	seen := map[string]int{} // quota code -> index in c.Entries, or -1 for unparsed
	add := func(q types.ServiceQuota, applied bool) {
		code, quotaName := aws.ToString(q.QuotaCode), aws.ToString(q.QuotaName)
		if i, dup := seen[code]; dup && code != "" {
			if !applied && i >= 0 {
				c.Entries[i].Default = aws.ToFloat64(q.Value)
			}
			return
		}
		n, err := parseName(quotaName)
		if err != nil {
			seen[code] = -1
			c.Unparsed = append(c.Unparsed, Unparsed{QuotaName: quotaName, QuotaCode: code, Value: aws.ToFloat64(q.Value), Reason: reason(err)})
			return
		}
		e := Entry{
			Scope: n.scope, Kind: n.kind, Model: n.model, Version: n.version, Context: n.context, Note: n.note,
			QuotaName: quotaName, QuotaCode: code, Value: aws.ToFloat64(q.Value), Applied: applied, Adjustable: q.Adjustable,
		}
		if !applied {
			e.Default = e.Value
		}
		if id, ok := idx.lookup(n.model, n.version); ok {
			e.ModelID = id
			e.IDs = routeIDs(id, n.scope, geos)
		}
		seen[code] = len(c.Entries)
		c.Entries = append(c.Entries, e)
	}
	for _, q := range applied {
		add(q, true)
	}
	for _, q := range defaults {
		add(q, false)
	}
	slices.SortStableFunc(c.Entries, func(a, b Entry) int {
		if (a.ModelID == "") != (b.ModelID == "") {
			if a.ModelID == "" {
				return 1
			}
			return -1
		}
		return cmpAll(strings.Compare(a.ModelID, b.ModelID), strings.Compare(a.Scope, b.Scope),
			strings.Compare(a.Kind, b.Kind), strings.Compare(a.Context, b.Context), strings.Compare(a.QuotaName, b.QuotaName))
	})
	c.index()
	return c
}

func cmpAll(cs ...int) int {
	for _, c := range cs {
		if c != 0 {
			return c
		}
	}
	return 0
}

func reason(err error) string {
	if ne, ok := err.(*nameError); ok {
		return ne.reason
	}
	return err.Error()
}

// maxValue bounds a quota value given to the guard: bedrockguard.WithQuota
// rejects values above 2^50, far above any real quota.
const maxValue = 1 << 50

// index combines the entries into one bedrockguard.Quota per ID. Several
// quotas of one kind on one ID (a cross-region and an any-route tokens per
// day, or two spellings of one model) combine to the smallest. Context
// variants ("1M Context Length") and zero values are left out: the guard
// keys pacing by model ID only, and a zero quota would read as "no limit".
// Values are rounded down, and capped at maxValue.
func (c *Catalog) index() {
	c.byID = map[string]bedrockguard.Quota{}
	for _, e := range c.Entries {
		if e.Context != "" || !(e.Value >= 1) {
			continue
		}
		v := int64(min(math.Floor(e.Value), maxValue))
		for _, id := range e.IDs {
			q := c.byID[id]
			switch e.Kind {
			case kindTPM:
				q.TokensPerWindow = minPositive(q.TokensPerWindow, v)
			case kindRPM:
				q.RequestsPerWindow = minPositive(q.RequestsPerWindow, v)
			case kindTPD:
				q.TokensPerDay = minPositive(q.TokensPerDay, v)
			}
			c.byID[id] = q
		}
	}
}

func minPositive(a, b int64) int64 {
	if a == 0 {
		return b
	}
	return min(a, b)
}

// baseID reduces an ARN (of an inference profile, say) to its last path
// segment, the ID.
func baseID(id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id[strings.LastIndexByte(id, '/')+1:]
	}
	return id
}

// Quota returns the guard's quota for a model ID or an inference-profile
// ID (an ARN is reduced to its last path segment): the tokens-per-minute,
// requests-per-minute and tokens-per-day quotas that apply to it, per
// minute (Window zero). ok is false when no quota applies to the ID: for
// example the bare ID of a model that has only cross-region quotas (Claude
// 3.7 and later).
func (c *Catalog) Quota(modelID string) (q bedrockguard.Quota, ok bool) {
	q, ok = c.byID[baseID(modelID)]
	return q, ok
}

// Options returns one bedrockguard.WithQuota per ID with a quota (see
// [Catalog.Quota]), sorted by ID, for
//
//	guard, err := bedrockguard.Install(&cfg, catalog.Options()...)
//
// Put your own WithQuota options after these to override one.
func (c *Catalog) Options() []bedrockguard.Option {
	ids := make([]string, 0, len(c.byID))
	for id := range c.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	opts := make([]bedrockguard.Option, 0, len(ids))
	for _, id := range ids {
		opts = append(opts, bedrockguard.WithQuota(id, c.byID[id]))
	}
	return opts
}

// For returns the entries that apply to a model ID or an inference-profile
// ID (an ARN is reduced to its last path segment) or, given a base model
// ID, to any route of that model, context-length variants included.
func (c *Catalog) For(modelID string) []Entry {
	modelID = baseID(modelID)
	var out []Entry
	for _, e := range c.Entries {
		if e.ModelID != "" && e.ModelID == modelID || slices.Contains(e.IDs, modelID) {
			out = append(out, e)
		}
	}
	return out
}
