-- bedrockguard pacing: the bucket arithmetic of package pacing (bucket.go),
-- ported line for line. This file is the common part of the four scripts
-- (reserve, return, throttled, state); redisstore.go appends each one's body.
-- Any change to bucket.go must be made here too: the conformance suite
-- (pacing/storetest, run by this module's tests) compares the two.
--
-- KEYS[1]  the key's hash
-- ARGV[1]  the time in microseconds since the epoch, or '' for Redis TIME
-- ARGV[2]  the idle TTL in milliseconds
-- ARGV[3..10], ARGV[11..18]  the requests and tokens AxisConfig: quota,
--          window (ns), initial fill, algorithm (0 CUBIC, 1 AIMD), beta,
--          CUBIC C, AIMD increase, cooldown (ns)
-- ARGV[19..]  the operation's arguments
--
-- Times are microseconds since the epoch (exact in a double until the year
-- 2255); durations are nanoseconds, as in Go, so that every expression below
-- evaluates the same IEEE operations in the same order as bucket.go. A time
-- of 0 is Go's zero time.Time.

-- TIME is not deterministic: replicate the writes, not the script (needed
-- on Redis 3.2 to 6.x; the default and a no-op since 7.0).
if redis.replicate_commands then
	redis.replicate_commands()
end

local now
if ARGV[1] == '' then
	local t = redis.call('TIME')
	now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
	now = tonumber(ARGV[1])
end

local INF = math.huge
local MIN_RATE = 1           -- minRate: one unit per window
-- The constants of the adaptive arithmetic (bucket.go).
local SLOW_START_BURST = 4
local SLOW_START_GAIN = 4
local SLOW_START_CAP = 8
local EVIDENCE_SPAN = 1
local EVIDENCE_BELOW = 0.95
local DEEP_SPAN = 2
local HOLD_MARGIN = 0.03
local MIN_HOLD = 2
local MIN_HOLD_TOLD = 8
local MAX_HOLD = 16
local MAX_HOLD_LEARNED = 4
local CONFIRM_TOLERANCE = 0.1
local NUM_CHECKPOINTS = 4
local THROTTLE_PAUSE = 0.5
local CHECKPOINT_EVERY = 0.25
local TAKE_AVG_N = 8
local SHORT_SPAN = 0.25
local MAX_WAIT = 86400e9     -- maxWait: 24h in ns
local CUBIC, AIMD = 0, 1

local cfg = {}
for i = 1, 2 do
	local o = 2 + 8 * (i - 1)
	cfg[i] = {
		quota = tonumber(ARGV[o + 1]),
		window = tonumber(ARGV[o + 2]),
		fill = tonumber(ARGV[o + 3]),
		alg = tonumber(ARGV[o + 4]),
		beta = tonumber(ARGV[o + 5]),
		cubic = tonumber(ARGV[o + 6]),
		aimd = tonumber(ARGV[o + 7]),
		cooldown = tonumber(ARGV[o + 8]),
	}
end

-- The hash holds twenty-four fields per axis, prefixed r (requests) and t
-- (tokens): lv level, la last, li limited (0/1), wm wMax, da decreasedAt,
-- ba base, me measured, ma measuredAt, fa firstAt, ho hold, ga gap,
-- sl slow, sp spent, mk markAt, cr credit, k1..k4 the checkpoints' times
-- (ckAt) and q1..q4 their spent (ckSpent), newest first, at avgTake.
local NF = 24
local prefixes = { 'r', 't' }
local names = { 'lv', 'la', 'li', 'wm', 'da', 'ba', 'me', 'ma', 'fa', 'ho', 'ga', 'sl', 'sp', 'mk', 'cr',
	'k1', 'k2', 'k3', 'k4', 'q1', 'q2', 'q3', 'q4', 'at' }
local fields = {}
for i = 1, 2 do
	for _, n in ipairs(names) do
		fields[#fields + 1] = prefixes[i] .. n
	end
end
local vals = redis.call('HMGET', KEYS[1], unpack(fields))
local st = {}
for i = 1, 2 do
	local b = NF * (i - 1)
	local function num(j) return tonumber(vals[b + j]) or 0 end
	st[i] = {
		init = vals[b + 2] ~= false,
		level = num(1),
		last = num(2),
		limited = num(3) == 1,
		wmax = num(4),
		decat = num(5),
		base = num(6),
		meas = num(7),
		measat = num(8),
		firstat = num(9),
		hold = num(10),
		gap = num(11),
		slow = num(12),
		spent = num(13),
		markat = num(14),
		credit = num(15),
		ckat = { num(16), num(17), num(18), num(19) },
		cksp = { num(20), num(21), num(22), num(23) },
		avgtake = num(24),
	}
end

local function fmt(x)
	return string.format('%.17g', x)
end

-- Go's math.Cbrt: pow, then one Newton step to the nearest double or so.
local function cbrt(x)
	if x == 0 or x ~= x or x == INF then
		return x
	end
	local y = x ^ (1 / 3)
	return y - (y * y * y - x) / (3 * y * y)
end

-- recent: the decayed admitted amount at now.
local function recent(s, c)
	if s.measat == 0 then
		return 0
	end
	local dt = (now - s.measat) * 1000
	if dt <= 0 then
		return s.meas
	end
	return s.meas * math.exp(-dt / c.window)
end

-- rateEstimate: the measured admission rate per window; a key younger
-- than a window has its sum scaled up by window/age, the age counted as at
-- least a sixtieth of the window.
local function rateEstimate(s, c)
	local r = recent(s, c)
	if s.firstat == 0 then
		return r
	end
	local age = math.max((now - s.firstat) * 1000, c.window / 60)
	if age < c.window then
		r = r * (c.window / age)
	end
	return r
end

-- ceiling: at most the quota, or twice the measured rate (at least wMax)
-- without one; at least minRate.
local function ceiling(s, c, r)
	local limit = c.quota
	if limit == 0 then
		limit = math.max(2 * recent(s, c), s.wmax)
	end
	if r > limit then
		r = limit
	end
	if r < MIN_RATE then
		r = MIN_RATE
	end
	return r
end

-- slowStart: no quota and no throttle yet.
local function slowStart(s, c)
	return s.limited and c.quota == 0 and s.decat == 0
end

-- rate: the effective rate per window at now.
local function rate(s, c)
	if not s.limited then
		return INF
	end
	if s.decat == 0 then
		if c.quota > 0 then
			return c.quota
		end
		if s.slow == 0 then
			return INF
		end
		return s.slow
	end
	local t = (now - s.decat) * 1000 / c.window - s.hold
	if t < 0 then
		t = 0
	end
	local r
	if c.alg == AIMD then
		local ref = c.quota
		if ref == 0 then
			ref = s.wmax
		end
		r = s.base + c.aimd * ref * t
	else
		local k = cbrt(math.max(0, 1 - s.base / s.wmax) / c.cubic)
		local d = t - k
		r = s.wmax * (1 + c.cubic * d * d * d)
	end
	return ceiling(s, c, r)
end

-- advance: bring level up to date at now.
local function advance(s, c)
	if not s.init then
		s.init = true
		s.limited = true
		s.last = now
		s.level = c.quota * c.fill
		return
	end
	if not s.limited or not (now > s.last) then
		return
	end
	local r = rate(s, c)
	if r == INF then
		s.last = now
		return
	end
	s.level = s.level + r * ((now - s.last) * 1000) / c.window
	if s.level > r then
		s.level = r
	end
	s.last = now
end

-- wait: ns until the bucket holds n units (or is full, for more than it
-- holds); 0 means now.
local function wait(s, c, n)
	if not s.limited then
		return 0
	end
	local r = rate(s, c)
	if r == INF then
		return 0
	end
	local need = math.min(n, r)
	if s.level >= need then
		return 0
	end
	local d = (need - s.level) / r * c.window
	if d > MAX_WAIT then
		return MAX_WAIT
	end
	return math.ceil(d)
end

-- checkpoint: (now, spent) becomes the newest checkpoint when the newest
-- is a CHECKPOINT_EVERY of the window old, or missing.
local function checkpoint(s, c)
	if s.ckat[1] ~= 0 and (now - s.ckat[1]) * 1000 < CHECKPOINT_EVERY * c.window then
		return
	end
	for i = NUM_CHECKPOINTS, 2, -1 do
		s.ckat[i] = s.ckat[i - 1]
		s.cksp[i] = s.cksp[i - 1]
	end
	s.ckat[1] = now
	s.cksp[1] = s.spent
end

-- estimate: the largest lower bound of the server's rate, over the
-- evidence span (span windows) and its suffixes from each checkpoint.
local function estimate(s, c, span)
	-- At the throttle the server held less than the refused request:
	-- about half an admission on average, added back.
	local left = s.avgtake / 2
	local est = (s.spent + left) / span
	for i = 1, NUM_CHECKPOINTS do
		if s.ckat[i] == 0 or s.ckat[i] < s.markat then
			break
		end
		local d = (now - s.ckat[i]) * 1000 / c.window
		local e = (s.spent - s.cksp[i] + left) / (1 + d)
		if e > est then
			est = e
		end
	end
	return est
end

-- take: admission; may leave debt on a paced axis.
local function take(s, c, n)
	if s.markat == 0 then
		s.markat = now
		s.credit = 1
	end
	checkpoint(s, c)
	s.spent = s.spent + n
	if s.avgtake == 0 then
		s.avgtake = n
	else
		s.avgtake = s.avgtake + (n - s.avgtake) / TAKE_AVG_N
	end
	s.meas = recent(s, c) + n
	s.measat = now
	if s.firstat == 0 then
		s.firstat = now
	end
	if slowStart(s, c) then
		if s.slow == 0 then
			s.base = math.max(SLOW_START_BURST * n, MIN_RATE)
			s.slow = s.base
			s.level = s.base
		else
			s.slow = math.min(s.slow + SLOW_START_GAIN * n, math.max(s.base, SLOW_START_CAP * s.meas))
		end
	end
	if s.limited then
		s.level = s.level - n
	end
end

-- give: a refund; negative n charges more.
local function give(s, c, n)
	if s.markat ~= 0 then
		checkpoint(s, c)
		s.spent = s.spent - n
	end
	if not s.limited then
		return
	end
	s.level = s.level + n
	local r = rate(s, c)
	if s.level > r then
		s.level = r
	end
	if n < 0 then
		s.meas = recent(s, c) - n
		s.measat = now
	end
end

-- throttled: an estimate of the ceiling from the evidence, or a
-- multiplicative decrease (at most once per cooldown) with fast
-- convergence; empties the bucket, with half a cooldown's refill of debt.
-- Returns whether the rate was lowered.
local function throttled(s, c)
	local decrease = s.decat == 0 or (now - s.decat) * 1000 >= c.cooldown
	if decrease then
		local cur = INF
		if s.limited then
			cur = rate(s, c)
		end
		if cur == INF then
			cur = math.max(rateEstimate(s, c), MIN_RATE)
		end
		s.limited = true
		local elapsed = 0
		if s.markat ~= 0 then
			elapsed = (now - s.markat) * 1000 / c.window
		end
		local span = s.credit + elapsed
		local est = estimate(s, c, span)
		local slow = slowStart(s, c)
		local deep = est < c.beta * cur
		-- held: not probing when the throttle came (see bucket.go).
		local held = s.decat == 0 or (now - s.decat) * 1000 < s.hold * c.window
		if span >= EVIDENCE_SPAN and est < cur and (slow or (((not held) or est <= EVIDENCE_BELOW * cur) and (not deep or elapsed >= DEEP_SPAN))) then
			est = math.max(est, MIN_RATE)
			if s.gap == 0 or s.wmax == 0 or math.abs(est - s.wmax) > CONFIRM_TOLERANCE * s.wmax then
				s.gap = MIN_HOLD
				if c.quota > 0 then
					s.gap = MIN_HOLD_TOLD
				end
			else
				s.gap = 2 * s.gap
				if c.quota > 0 then
					s.gap = math.min(s.gap, MAX_HOLD)
				else
					s.gap = math.min(s.gap, MAX_HOLD_LEARNED)
				end
			end
			s.wmax = est
			s.base = math.max(est * (1 - HOLD_MARGIN), MIN_RATE)
			s.hold = s.gap
			if elapsed < EVIDENCE_SPAN or deep then
				s.hold = 0
			end
		else
			if s.wmax > 0 and cur < s.wmax then
				s.wmax = cur * (1 + c.beta) / 2
			else
				s.wmax = cur
			end
			s.base = math.max(c.beta * cur, MIN_RATE)
			if not slow and s.credit == 0 and elapsed >= SHORT_SPAN and elapsed < EVIDENCE_SPAN and s.spent > 0 then
				-- A short span: its bound floors the Beta step, and its
				-- estimate is where the regrowth flattens.
				local lo = s.spent / elapsed * (1 - HOLD_MARGIN)
				if lo > s.base then
					s.base = math.min(lo, s.wmax)
				end
				s.wmax = math.max(s.base, math.min(s.wmax, est))
			end
			s.hold = 0
		end
		s.decat = now
		s.last = now
		s.markat = now
		s.spent = 0
		s.credit = 0
		s.ckat = { 0, 0, 0, 0 }
		s.cksp = { 0, 0, 0, 0 }
	end
	-- Half a cooldown's refill of debt: the server's bucket is empty.
	local pause = -rate(s, c) * THROTTLE_PAUSE * c.cooldown / c.window
	if s.level > pause then
		s.level = pause
	end
	return decrease
end

for i = 1, 2 do
	advance(st[i], cfg[i])
end

-- save writes both axes back and renews the idle TTL.
local function save()
	local args = {}
	for i = 1, 2 do
		local s, p = st[i], prefixes[i]
		local li = 0
		if s.limited then
			li = 1
		end
		local v = { s.level, s.last, li, s.wmax, s.decat, s.base, s.meas, s.measat, s.firstat,
			s.hold, s.gap, s.slow, s.spent, s.markat, s.credit,
			s.ckat[1], s.ckat[2], s.ckat[3], s.ckat[4], s.cksp[1], s.cksp[2], s.cksp[3], s.cksp[4], s.avgtake }
		for j, n in ipairs(names) do
			args[#args + 1] = p .. n
			args[#args + 1] = fmt(v[j])
		end
	end
	redis.call('HSET', KEYS[1], unpack(args))
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
