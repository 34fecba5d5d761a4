-- The admit script's body, appended to bucket.lua: the fleet-wide ticket
-- queue of one key, its leases, the heartbeats of its processes and the
-- epoch of its state. All four keys share the key's hash tag (one slot).
--
-- KEYS[2]  the queue: a sorted set of tickets by order (microseconds);
--          a member is "id|requests|tokens"
-- KEYS[3]  the leases: the same members by expiry (microseconds)
-- KEYS[4]  the live processes by last call (microseconds)
-- ARGV[19], ARGV[20]  the ticket's requests and tokens
-- ARGV[21]  the member ('' for none), ARGV[22] its order ('' for new),
-- ARGV[23]  the boost (us), ARGV[24] the max wait (ns, 0 for none),
-- ARGV[25]  the lease (us), ARGV[26] '1' to cancel,
-- ARGV[27], ARGV[28], ARGV[29]  the refund (requests, tokens) and its epoch,
-- ARGV[30], ARGV[31]  the process and how long it stays live (us),
-- ARGV[32]  the epoch to use if the key has none.
local ttl = ARGV[2]
local ep = redis.call('HGET', KEYS[1], 'ep')
if not ep then
	ep = ARGV[32]
	redis.call('HSET', KEYS[1], 'ep', ep)
end
local rr, rt = tonumber(ARGV[27]), tonumber(ARGV[28])
if (rr ~= 0 or rt ~= 0) and (ARGV[29] == '' or ARGV[29] == ep) then
	give(st[1], cfg[1], rr)
	give(st[2], cfg[2], rt)
end
local nproc = 0
if ARGV[30] ~= '' then
	redis.call('ZADD', KEYS[4], fmt(now), ARGV[30])
	redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. fmt(now - tonumber(ARGV[31])))
	nproc = redis.call('ZCARD', KEYS[4])
	redis.call('PEXPIRE', KEYS[4], ttl)
end
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. fmt(now))
for _, m in ipairs(dead) do
	redis.call('ZREM', KEYS[2], m)
	redis.call('ZREM', KEYS[3], m)
end
local ok, w, order = '0', 0, 0
local member = ARGV[21]
if member ~= '' and ARGV[26] == '1' then
	redis.call('ZREM', KEYS[2], member)
	redis.call('ZREM', KEYS[3], member)
elseif member ~= '' then
	local a1, a2 = tonumber(ARGV[19]), tonumber(ARGV[20])
	local new = false
	local sc = redis.call('ZSCORE', KEYS[2], member)
	if sc then
		order = tonumber(sc)
	else
		if ARGV[22] ~= '' then
			order = tonumber(ARGV[22])
		else
			order = now - tonumber(ARGV[23])
			new = true
		end
		redis.call('ZADD', KEYS[2], fmt(order), member)
	end
	-- The amounts of the tickets ahead stay in the buckets for them.
	local rank = redis.call('ZRANK', KEYS[2], member)
	local hr, ht = 0, 0
	if rank > 0 then
		for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, rank - 1)) do
			local r, t = string.match(m, '|([^|]*)|([^|]*)$')
			hr = hr + (tonumber(r) or 0)
			ht = ht + (tonumber(t) or 0)
		end
	end
	local l1, l2 = st[1].level, st[2].level
	st[1].level = l1 - hr
	st[2].level = l2 - ht
	w = math.max(wait(st[1], cfg[1], a1), wait(st[2], cfg[2], a2))
	st[1].level = l1
	st[2].level = l2
	if w == 0 then
		take(st[1], cfg[1], a1)
		take(st[2], cfg[2], a2)
		redis.call('ZREM', KEYS[2], member)
		redis.call('ZREM', KEYS[3], member)
		ok = '1'
	elseif new and tonumber(ARGV[24]) > 0 and w > tonumber(ARGV[24]) then
		redis.call('ZREM', KEYS[2], member)
	else
		redis.call('ZADD', KEYS[3], fmt(now + math.ceil(w / 1000) + tonumber(ARGV[25])), member)
	end
	redis.call('PEXPIRE', KEYS[2], ttl)
	redis.call('PEXPIRE', KEYS[3], ttl)
end
save()
return { ok, fmt(w), fmt(order), ep, tostring(nproc), fmt(now) }
