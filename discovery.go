package bedrockguard

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// Where a key's quota comes from, as telemetry and logs say it
// (aws.bedrock.quota.source).
const (
	sourceConfigured = "configured" // WithQuota or WithDefaultQuota
	sourceDiscovered = "discovered" // the account's quota, from Service Quotas
	sourceLearned    = "learned"    // none: slow start, then throttles
)

// discoveryTimeout bounds a background discovery, Service Quotas' own
// throttle backoff included.
const discoveryTimeout = 2 * time.Minute

// quota returns the quota of a model ID in a region and where it comes
// from: its own configured quota, the configured default, the quota
// discovered for that region, or none.
func (g *Guard) quota(region, modelID string) (limiter.Limits, string) {
	if q, ok := g.s.Quotas[modelID]; ok {
		return q, sourceConfigured
	}
	if d := g.s.DefaultQuota; d.TokensPerWindow > 0 || d.RequestsPerWindow > 0 {
		return d, sourceConfigured
	}
	if m := g.discovery(region).quotas.Load(); m != nil {
		if q, ok := (*m)[modelID]; ok {
			return q, sourceDiscovered
		}
	}
	return g.s.DefaultQuota, sourceLearned
}

// quotaSource is quota's source alone, for telemetry.
func (g *Guard) quotaSource(region, modelID string) string {
	_, src := g.quota(region, modelID)
	return src
}

// maxLoggedSources bounds the model IDs whose quota source is remembered:
// model IDs can come from user input, and each remembered one costs memory
// for the guard's lifetime. Past the bound, sources are no longer logged.
const maxLoggedSources = 1024

// noteSource logs one Info line the first time a model ID is seen and each
// time its quota's source changes, for up to maxLoggedSources model IDs.
func (g *Guard) noteSource(modelID, src string, q limiter.Limits) {
	if prev, ok := g.sources.Load(modelID); ok {
		if prev.(string) == src {
			return
		}
	} else if g.nsources.Add(1) > maxLoggedSources {
		g.nsources.Add(-1)
		return
	}
	if prev, loaded := g.sources.Swap(modelID, src); loaded && prev.(string) == src {
		return
	}
	g.logger().Info("bedrockguard: quota source",
		slog.String("gen_ai.request.model", modelID),
		slog.String("aws.bedrock.quota.source", src),
		slog.Float64("tokens_per_window", q.TokensPerWindow),
		slog.Float64("requests_per_window", q.RequestsPerWindow))
}

func (g *Guard) logger() *slog.Logger {
	if g.s.Logger != nil {
		return g.s.Logger
	}
	return slog.Default()
}

// discoveryRefresh is how often a region's quotas are listed again, so a
// granted increase (or a lowered quota) is picked up without a restart.
const discoveryRefresh = time.Hour

// regionDiscovery is the discovered quotas of one region and when to list
// them again.
type regionDiscovery struct {
	quotas  atomic.Pointer[map[string]limiter.Limits]
	next    atomic.Int64 // Unix nanoseconds of the next listing; 0: none yet
	running atomic.Bool
}

// maxDiscoveryRegions bounds the regions discovered: regions come from
// client options, and each one costs a listing and memory.
const maxDiscoveryRegions = 64

// discovery returns the discovery state of region ("" is the installed
// config's region).
func (g *Guard) discovery(region string) *regionDiscovery {
	base := g.discoveryCfg.Load()
	if base == nil {
		return &noDiscovery
	}
	if region == "" {
		region = base.Region
	}
	if d, ok := g.regions.Load(region); ok {
		return d.(*regionDiscovery)
	}
	if g.nregions.Add(1) > maxDiscoveryRegions {
		g.nregions.Add(-1)
		return &noDiscovery
	}
	d, loaded := g.regions.LoadOrStore(region, &regionDiscovery{})
	if loaded {
		g.nregions.Add(-1)
	}
	return d.(*regionDiscovery)
}

// noDiscovery is the state of a region that is not discovered.
var noDiscovery regionDiscovery

// startDiscovery remembers cfg (its credentials, HTTP client and Region)
// for discovery and lists its Region's quotas in the background.
func (g *Guard) startDiscovery(cfg aws.Config) {
	if g.s.Discover == nil || g.s.ObserveOnly {
		return
	}
	g.discoverOnce.Do(func() {
		g.discoveryCfg.Store(&cfg)
		g.discover(cfg.Region)
	})
}

// discover lists region's quotas in the background when none has been
// listed yet or the last listing is discoveryRefresh old, with the
// installed config's credentials. It is called on every call, so its fast
// path is two atomic loads. It never blocks or fails a call: until a
// listing ends, and when it fails, models without a configured quota keep
// what they had (a discovered quota, or one learned from throttles). A
// failure is logged at Info and tried again after discoveryRefresh.
func (g *Guard) discover(region string) {
	base := g.discoveryCfg.Load()
	if base == nil || g.s.Discover == nil {
		return
	}
	d := g.discovery(region)
	if d == &noDiscovery {
		return
	}
	now := time.Now()
	if next := d.next.Load(); next != 0 && now.UnixNano() < next {
		return
	}
	if !d.running.CompareAndSwap(false, true) {
		return
	}
	d.next.Store(now.Add(discoveryRefresh).UnixNano())
	cfg := base.Copy()
	if region != "" {
		cfg.Region = region
	}
	go func() {
		defer d.running.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), discoveryTimeout)
		defer cancel()
		m, err := g.s.Discover(ctx, cfg)
		if err != nil {
			g.logger().Info("bedrockguard: quota discovery failed; models without a configured quota learn theirs from throttles",
				slog.String("cloud.region", cfg.Region), slog.Any("error", err))
			return
		}
		d.quotas.Store(&m)
		g.logger().Debug("bedrockguard: quotas discovered", slog.String("cloud.region", cfg.Region), slog.Int("models", len(m)))
	}()
}
