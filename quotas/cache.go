package quotas

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
)

// DefaultTTL is how long a [Cache] keeps a catalog: one hour, as AWS's
// sample quota dashboard does. Quotas change only when an increase is
// granted, and the Service Quotas API throttles its callers.
const DefaultTTL = time.Hour

// Cache keeps the last [Discover] result for a TTL, so that many callers
// (or a periodic refresh) cost one listing per TTL. It is safe for
// concurrent use; concurrent callers of a stale cache share one listing.
type Cache struct {
	client servicequotas.ListServiceQuotasAPIClient
	ttl    time.Duration
	opts   []Option
	now    func() time.Time

	mu  sync.Mutex
	cat *Catalog
	at  time.Time
}

// NewCache returns a cache over client. A ttl of zero or less means
// [DefaultTTL]; opts are passed to [Discover] ([WithClock] also drives
// the TTL).
func NewCache(client servicequotas.ListServiceQuotasAPIClient, ttl time.Duration, opts ...Option) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache{client: client, ttl: ttl, opts: opts, now: newConfig(opts).now}
}

// Catalog returns the cached catalog, listing the quotas again when it is
// older than the TTL. When a refresh fails, the error is returned together
// with the previous catalog, if there is one, for the caller to keep using;
// the next call tries again.
func (c *Cache) Catalog(ctx context.Context) (*Catalog, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cat != nil && c.now().Sub(c.at) < c.ttl {
		return c.cat, nil
	}
	cat, err := Discover(ctx, c.client, c.opts...)
	if err != nil {
		return c.cat, err
	}
	c.cat, c.at = cat, c.now()
	return cat, nil
}

// Invalidate makes the next [Cache.Catalog] list the quotas again, for
// example after an increase was granted.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	c.cat = nil
	c.mu.Unlock()
}
