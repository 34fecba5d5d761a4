package bedrockguard

import (
	"context"
	"log/slog"
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

// quota returns the quota of a model ID and where it comes from: its own
// configured quota, the configured default, a discovered one, or none.
func (g *Guard) quota(modelID string) (limiter.Limits, string) {
	if q, ok := g.s.Quotas[modelID]; ok {
		return q, sourceConfigured
	}
	if d := g.s.DefaultQuota; d.TokensPerWindow > 0 || d.RequestsPerWindow > 0 {
		return d, sourceConfigured
	}
	if m := g.discovered.Load(); m != nil {
		if q, ok := (*m)[modelID]; ok {
			return q, sourceDiscovered
		}
	}
	return g.s.DefaultQuota, sourceLearned
}

// quotaSource is quota's source alone, for telemetry.
func (g *Guard) quotaSource(modelID string) string {
	_, src := g.quota(modelID)
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

// startDiscovery runs the configured discovery once, in the background,
// with cfg's credentials and Region. It never blocks or fails a call: until
// it ends, and when it fails, models without a configured quota learn
// theirs. A failure is logged once, at Info.
func (g *Guard) startDiscovery(cfg aws.Config) {
	if g.s.Discover == nil || g.s.ObserveOnly {
		return
	}
	g.discoverOnce.Do(func() {
		go func() {
			defer close(g.discoveryDone)
			ctx, cancel := context.WithTimeout(context.Background(), discoveryTimeout)
			defer cancel()
			m, err := g.s.Discover(ctx, cfg)
			if err != nil {
				g.logger().Info("bedrockguard: quota discovery failed; models without a configured quota learn theirs from throttles",
					slog.String("cloud.region", cfg.Region), slog.Any("error", err))
				return
			}
			g.discovered.Store(&m)
			g.logger().Debug("bedrockguard: quotas discovered", slog.String("cloud.region", cfg.Region), slog.Int("models", len(m)))
		}()
	})
}
