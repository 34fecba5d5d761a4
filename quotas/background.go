package quotas

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/bedrockguard/bedrockguard"
	guardconfig "github.com/bedrockguard/bedrockguard/internal/config"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
)

// Background is a bedrockguard option that discovers the account's quotas
// in the background when the guard is installed on an aws.Config
// ([bedrockguard.Install] or [bedrockguard.Guard.Install]), with that
// config's credentials and Region, and applies each one to the model IDs
// that have no configured quota ([bedrockguard.WithQuota] or
// [bedrockguard.WithDefaultQuota]). A client in another Region (a copy of
// the config with its Region changed, say) has that Region's quotas listed
// on its first call, with the same credentials (up to 64 Regions); every
// Region's listing is refreshed on a call an hour after the last one, so a
// granted increase or a lowered quota applies without a restart. Tokens-
// per-day quotas are discovered and counted too.
//
//	guard, err := bedrockguard.Install(&cfg, quotas.Background())
//
// It never slows or fails a call: calls go on at once, and models learn
// their quota from throttles until a listing ends (two minutes at most) or
// when it fails (no servicequotas:ListServiceQuotas permission, no
// network), which is logged at Info (and tried again an hour later). The guard logs one Info line per
// model when its quota's source changes (configured, discovered, learned),
// and otelbridge puts the source on the pacing-rate gauge
// (aws.bedrock.quota.source). opts are [Discover]'s; an invalid one makes
// Install fail with an [*bedrockguard.OptionError].
//
// It is an option rather than the default because it calls a second AWS
// service from the process, which needs its own IAM permission and shows
// up in CloudTrail: a program asks for that explicitly.
func Background(opts ...Option) bedrockguard.Option {
	return func(s *guardconfig.Settings) {
		var c config
		for _, o := range opts {
			if o == nil {
				s.Errs = append(s.Errs, optionErr("Background", "nil option"))
				return
			}
			if err := o(&c); err != nil {
				s.Errs = append(s.Errs, err)
				return
			}
		}
		s.Discover = func(ctx context.Context, cfg aws.Config) (map[string]limiter.Limits, error) {
			cat, err := Discover(ctx, servicequotas.NewFromConfig(cfg), opts...)
			if err != nil {
				return nil, err
			}
			return cat.limits(), nil
		}
	}
}

// limits returns the catalog's quotas (per minute and per day) as pacing
// limits.
func (c *Catalog) limits() map[string]limiter.Limits {
	m := make(map[string]limiter.Limits, len(c.byID))
	for id, q := range c.byID {
		if q.TokensPerWindow == 0 && q.RequestsPerWindow == 0 && q.TokensPerDay == 0 {
			continue
		}
		m[id] = limiter.Limits{
			RequestsPerWindow: float64(q.RequestsPerWindow),
			TokensPerWindow:   float64(q.TokensPerWindow),
			Window:            q.Window,
			TokensPerDay:      float64(q.TokensPerDay),
		}
	}
	return m
}
