package tokens

import "sync"

const cacheShards = 16

// countCache maps a text's 64-bit hash to its token count. Each shard keeps
// two generations: lookups promote entries from the old generation to the
// new; when the new one fills, the old one is dropped. That approximates LRU
// with one map lookup per hit and no per-entry bookkeeping.
type countCache struct {
	shards [cacheShards]cacheShard
	per    int // entries per generation per shard
}

type cacheShard struct {
	mu       sync.Mutex
	cur, old map[uint64]int32
}

func newCountCache(size int) *countCache {
	c := &countCache{per: max(size/(2*cacheShards), 1)}
	for i := range c.shards {
		c.shards[i].cur = make(map[uint64]int32)
	}
	return c
}

func (c *countCache) get(h uint64) (int, bool) {
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.cur[h]; ok {
		return int(v), true
	}
	if v, ok := s.old[h]; ok {
		c.putLocked(s, h, v)
		return int(v), true
	}
	return 0, false
}

func (c *countCache) put(h uint64, n int) {
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	c.putLocked(s, h, int32(min(n, 1<<31-1)))
	s.mu.Unlock()
}

func (c *countCache) putLocked(s *cacheShard, h uint64, v int32) {
	if len(s.cur) >= c.per {
		s.old, s.cur = s.cur, make(map[uint64]int32, c.per)
	}
	s.cur[h] = v
}
