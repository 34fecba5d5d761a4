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
	Name
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
	// the model is not in the table (see [Catalog.Unmapped]).
	ModelID string `json:"modelId,omitempty"`
	// IDs are the model or inference-profile IDs the quota applies to:
	// the bare model ID for on-demand quotas, the geographic profiles
	// (us., eu., apac. …) for cross-region ones, global. for global ones,
	// all of them for quotas without a scope.
	IDs []string `json:"ids,omitempty"`
}

// Unparsed is a Bedrock quota whose name [ParseName] did not understand.
// It is kept and reported, never fatal.
type Unparsed struct {
	QuotaName string  `json:"quotaName"`
	QuotaCode string  `json:"quotaCode"`
	Value     float64 `json:"value"`
	Reason    string  `json:"reason"`
}

// Catalog is the result of discovery: Bedrock's runtime quotas of one
// Region, mapped to model and inference-profile IDs. It is read-only once
// made and safe for concurrent use.
type Catalog struct {
	// Region is the Region the quotas were listed in, when known.
	Region string `json:"region,omitempty"`
	// FetchedAt is when the quotas were listed.
	FetchedAt time.Time `json:"fetchedAt"`
	// Entries are the parsed quotas, sorted by model ID, scope, kind and
	// quota name; unmapped ones (no ModelID) last.
	Entries []Entry `json:"entries"`
	// Unparsed are the quotas whose names were not understood.
	Unparsed []Unparsed `json:"unparsed,omitempty"`

	byID map[string]bedrockguard.Quota
}

// NewCatalog builds a catalog from quotas already listed (for example by
// your own code), the way [Discover] does. applied are the account's
// applied values, defaults the AWS defaults (either may be nil); a default
// whose quota code is not among applied is used as the value. Options other
// than [WithRegion] and [WithModels] are ignored.
func NewCatalog(applied, defaults []types.ServiceQuota, opts ...Option) *Catalog {
	cfg := newConfig(opts)
	c := &Catalog{Region: cfg.region, FetchedAt: cfg.now()}
	idx := newModelIndex(cfg.models)
	geos := GeoPrefixes(cfg.region)
	seen := map[string]int{} // quota code -> index in c.Entries, or -1 for unparsed
	add := func(q types.ServiceQuota, applied bool) {
		code, name := aws.ToString(q.QuotaCode), aws.ToString(q.QuotaName)
		if i, dup := seen[code]; dup && code != "" {
			if !applied && i >= 0 {
				c.Entries[i].Default = aws.ToFloat64(q.Value)
			}
			return
		}
		n, err := ParseName(name)
		if err != nil {
			seen[code] = -1
			c.Unparsed = append(c.Unparsed, Unparsed{QuotaName: name, QuotaCode: code, Value: aws.ToFloat64(q.Value), Reason: reason(err)})
			return
		}
		e := Entry{Name: n, QuotaName: name, QuotaCode: code, Value: aws.ToFloat64(q.Value), Applied: applied, Adjustable: q.Adjustable}
		if !applied {
			e.Default = e.Value
		}
		if id, ok := idx.lookup(n.Model, n.Version); ok {
			e.ModelID = id
			e.IDs = routeIDs(id, n.Scope, geos)
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
		return cmpAll(strings.Compare(a.ModelID, b.ModelID), strings.Compare(string(a.Scope), string(b.Scope)),
			strings.Compare(string(a.Kind), string(b.Kind)), strings.Compare(a.Context, b.Context), strings.Compare(a.QuotaName, b.QuotaName))
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
	if ne, ok := err.(*NameError); ok {
		return ne.Reason
	}
	return err.Error()
}

// index combines the entries into one bedrockguard.Quota per ID. Several
// quotas of one kind on one ID (a cross-region and an any-route tokens per
// day, or two spellings of one model) combine to the smallest. Context
// variants ("1M Context Length") and zero values are left out: the guard
// keys pacing by model ID only, and a zero quota would read as "no limit".
func (c *Catalog) index() {
	c.byID = map[string]bedrockguard.Quota{}
	for _, e := range c.Entries {
		if e.Context != "" || e.Value <= 0 {
			continue
		}
		v := int64(min(math.Floor(e.Value), math.MaxInt64/2))
		for _, id := range e.IDs {
			q := c.byID[id]
			switch e.Kind {
			case TokensPerMinute:
				q.TokensPerMinute = minPositive(q.TokensPerMinute, v)
			case RequestsPerMinute:
				q.RequestsPerMinute = minPositive(q.RequestsPerMinute, v)
			case TokensPerDay:
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

// Quota returns the quota of a model ID or inference-profile ID (an ARN is
// reduced to its last path segment), combining its tokens-per-minute,
// requests-per-minute and tokens-per-day quotas. ok is false when no quota
// applies to the ID: for example the bare ID of a model that has only
// cross-region quotas (Claude 3.7 and later).
func (c *Catalog) Quota(modelID string) (q bedrockguard.Quota, ok bool) {
	if strings.HasPrefix(modelID, "arn:") {
		modelID = modelID[strings.LastIndexByte(modelID, '/')+1:]
	}
	q, ok = c.byID[modelID]
	return q, ok
}

// IDs returns the sorted model and inference-profile IDs that have a quota.
func (c *Catalog) IDs() []string {
	ids := make([]string, 0, len(c.byID))
	for id := range c.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Options returns one bedrockguard.WithQuota per ID with a quota, for
//
//	guard, err := bedrockguard.Install(&cfg, catalog.Options()...)
func (c *Catalog) Options() []bedrockguard.Option {
	var opts []bedrockguard.Option
	for _, id := range c.IDs() {
		opts = append(opts, bedrockguard.WithQuota(id, c.byID[id]))
	}
	return opts
}

// Unmapped returns the parsed entries whose model display name is not in
// the model table, so they apply to no ID. Add them with [WithModels].
func (c *Catalog) Unmapped() []Entry {
	var out []Entry
	for _, e := range c.Entries {
		if e.ModelID == "" {
			out = append(out, e)
		}
	}
	return out
}

// For returns the entries that apply to a model ID, an inference-profile ID
// or, given a base model ID, to any route of that model.
func (c *Catalog) For(modelID string) []Entry {
	var out []Entry
	for _, e := range c.Entries {
		if e.ModelID != "" && e.ModelID == modelID || slices.Contains(e.IDs, modelID) {
			out = append(out, e)
		}
	}
	return out
}
