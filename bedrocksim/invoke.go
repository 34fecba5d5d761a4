package bedrocksim

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/wire"
)

// admission is the outcome of admitting a call against its key's quotas.
type admission struct {
	ledger        *ledger
	reserved      int64
	maxTokens     int
	u             usage // input split into uncached, cache read and cache write
	streamFault   bool
	throttleAfter int
}

// admit reserves input + max tokens. It answers the throttle itself and
// returns false when the call is refused.
func (c *call) admit() (admission, bool) {
	s := c.s
	a := admission{maxTokens: c.p.maxTokens}
	if a.maxTokens == 0 {
		a.maxTokens = c.model.maxOutput
	}
	a.reserved = int64(c.p.tokens + a.maxTokens)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	a.ledger = s.ledgers[c.key]
	if a.ledger == nil {
		q, ok := s.opts.Quotas[c.key]
		if !ok {
			q = s.opts.DefaultQuota
		}
		a.ledger = newLedger(q, s.opts.Window, now)
		if s.opts.Day > 0 {
			a.ledger.day.span = s.opts.Day
		}
		s.ledgers[c.key] = a.ledger
	}
	a.ledger.setScaleAt(now, s.faults.quotaScale(now))
	if th := a.ledger.admitAt(now, a.reserved); th != throttleNone {
		s.rec.throttle(c.key, th, now)
		msg := map[throttleKind]string{throttleRequests: wire.MsgTooManyRequests, throttleTokens: wire.MsgTooManyTokens, throttleTokensPerDay: wire.MsgTooManyTokensPerDay}[th]
		if th == throttleRequests && s.opts.ShortRequestsMessage {
			msg = wire.MsgTooManyRequestsShort
		}
		writeError(c.w, c.reqID, &apiError{http.StatusTooManyRequests, wire.CodeThrottling, msg})
		return a, false
	}
	s.rec.accept(c.key, a.reserved, now)
	a.u = usage{input: c.p.tokens}
	if c.p.cacheTokens > 0 {
		ck := mix(hashString(hashSeed, c.key), c.p.cacheHash)
		if exp, ok := s.cache[ck]; ok && now.Before(exp) {
			a.u.cacheRead = c.p.cacheTokens
		} else {
			a.u.cacheWrite = c.p.cacheTokens
			if len(s.cache) >= 4096 {
				clear(s.cache)
			}
			s.cache[ck] = now.Add(s.opts.CacheTTL)
		}
		a.u.input -= c.p.cacheTokens
	}
	if c.op == opConverseStream || c.op == opInvokeStream {
		a.streamFault = s.faults.hit(faultStreamThrottle, s.opts.Seed, c.seq, now)
		a.throttleAfter = s.faults.f.StreamThrottleAfter
	}
	return a, true
}

// ending says how an admitted call ended, for its settlement.
type ending int

const (
	endedComplete   ending = iota // the answer went out whole
	endedByThrottle               // a stream throttle cut the answer
)

// settle charges input + cache write + output x burndown and refunds the
// rest of the reservation.
func (c *call) settle(a admission, u usage, e ending) {
	s := c.s
	charged := int64(u.input + u.cacheWrite + u.output*c.model.burndown)
	if e == endedByThrottle && u.output == 0 {
		charged, u = 0, usage{} // a first-frame throttle: nothing ran
	}
	now := time.Now()
	s.mu.Lock()
	refund := a.ledger.settleAt(now, a.reserved, charged)
	s.rec.settle(c.key, u, charged, refund, e, now)
	s.mu.Unlock()
}

// invoke serves the four inference operations.
func (c *call) invoke() {
	a, ok := c.admit()
	if !ok {
		return
	}
	h := mix(uint64(c.s.opts.Seed), c.p.hash)
	n := c.s.outputTokens(a.maxTokens, h)
	u := a.u
	u.output = n
	res := &result{modelID: c.key, reqID: c.reqID, u: u, maxed: n == a.maxTokens,
		latencyMs: c.s.latency(n).Milliseconds(), firstByteMs: c.s.latency(min(n, 1)).Milliseconds()}
	switch c.op {
	case opConverseStream:
		c.stream(a, res, h, converseShape)
		return
	case opInvokeStream:
		c.stream(a, res, h, invokeShape(c.model.family))
		return
	}
	res.text = outputText(h, 0, n)
	sleep(c.r.Context(), c.s.latency(n))
	hd := c.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set(wire.HeaderRequestID, c.reqID)
	var body any
	if c.op == opConverse {
		body = obj{"output": obj{"message": obj{"role": "assistant", "content": []obj{{"text": res.text}}}},
			"stopReason": res.stop("end_turn", "max_tokens"), "usage": converseUsage(u), "metrics": obj{"latencyMs": res.latencyMs}}
	} else {
		body = invokeBody(c.model.family, res)
		hd.Set("X-Amzn-Bedrock-Input-Token-Count", itoa(u.input))
		hd.Set("X-Amzn-Bedrock-Output-Token-Count", itoa(u.output))
		hd.Set("X-Amzn-Bedrock-Invocation-Latency", itoa(int(res.latencyMs)))
		if u.cacheRead > 0 || u.cacheWrite > 0 {
			hd.Set("X-Amzn-Bedrock-Cache-Read-Input-Token-Count", itoa(u.cacheRead))
			hd.Set("X-Amzn-Bedrock-Cache-Write-Input-Token-Count", itoa(u.cacheWrite))
		}
	}
	b, _ := json.Marshal(body)
	hd.Set("Content-Length", itoa(len(b)))
	c.w.Write(b)
	c.settle(a, u, endedComplete)
}

// streamHeadStart is the least time between a stream request and its
// first frame, whatever the latency settings. Bedrock never answers faster
// (a model has to start), and a simulator that answers sooner lets the SDK's
// default client lose a race on loopback: net/http, still finishing with the
// request body when the response arrives, closes the connection under the
// stream ("use of closed network connection";
// docs/bedrock.md#use-of-closed-network-connection).
const streamHeadStart = 5 * time.Millisecond

// stream sends the frames of shape, pacing deltas by the latency model, and
// cuts the stream with a throttlingException if the fault hit this call.
func (c *call) stream(a admission, res *result, h uint64, shape streamShape) {
	sw := newStreamWriter(c.w, func(hd http.Header) {
		hd.Set("Content-Type", "application/vnd.amazon.eventstream")
		hd.Set(wire.HeaderRequestID, c.reqID)
		if c.op == opInvokeStream {
			hd.Set("X-Amzn-Bedrock-Content-Type", "application/json")
		}
	})
	ctx := c.r.Context()
	events, sent := 0, 0
	ended := endedComplete
	// The call is settled (and counted) before its last frame goes out, so
	// that a client that has read the whole stream sees it in Stats.
	settled := false
	settle := func() {
		if !settled {
			settled = true
			u := res.u
			u.output = sent
			c.settle(a, u, ended)
		}
	}
	defer settle()
	emit := func(f frame) bool {
		if a.streamFault && events == a.throttleAfter {
			b, _ := json.Marshal(obj{"message": wire.MsgTooManyTokens})
			ended = endedByThrottle
			settle()
			sw.send(frame{exceptionType: wire.ExceptionThrottling, payload: b})
			return false
		}
		events++
		return sw.send(f) == nil
	}
	if !sleep(ctx, max(c.s.opts.LatencyBase, streamHeadStart)) {
		return
	}
	for _, f := range shape.start(res) {
		if !emit(f) {
			return
		}
	}
	for sent < res.u.output {
		k := min(c.s.opts.TokensPerDelta, res.u.output-sent)
		if !sleep(ctx, time.Duration(k)*c.s.opts.LatencyPerOutputToken) {
			return
		}
		text := outputText(h, sent, k)
		if !emit(shape.delta(res, text, sent+k, sent == 0)) {
			return // not delivered
		}
		sent += k
	}
	end := shape.end(res)
	if !(a.streamFault && events+len(end) > a.throttleAfter) {
		settle() // no fault left to cut the stream: the usage is final
	}
	for _, f := range end {
		if !emit(f) {
			return
		}
	}
}
