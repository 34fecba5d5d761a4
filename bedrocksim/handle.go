package bedrocksim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/bedrockguard/bedrockguard/internal/wire"
)

// call is one request in flight.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	op    string
	key   string
	reqID string
	seq   uint64
	model modelInfo
	p     prompt
}

// handle runs the pipeline: count, route, validate, faults, admit,
// generate, answer, settle. Every path ends in exactly one outcome in Stats.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	op, key := route(r)
	now := time.Now()
	s.mu.Lock()
	seq := s.seq
	s.seq++
	s.rec.request(key, now)
	s.mu.Unlock()
	c := &call{s: s, w: w, r: r, op: op, key: key, seq: seq, reqID: requestID(s.opts.Seed, seq)}
	if op == "" {
		c.fail(&apiError{http.StatusNotFound, wire.CodeUnknownOperation, "Unknown operation " + r.Method + " " + r.URL.Path})
		return
	}
	if err := c.validate(); err != nil {
		c.fail(err)
		return
	}
	if c.injectFaults() {
		return
	}
	if op == opCountTokens {
		c.countTokens()
		return
	}
	c.invoke()
}

// fail answers e and counts it.
func (c *call) fail(e *apiError) {
	c.s.mu.Lock()
	c.s.rec.error(c.key, e.code, time.Now())
	c.s.mu.Unlock()
	writeError(c.w, c.reqID, e)
}

// validate reads and checks the body; it sets c.model and c.p.
func (c *call) validate() *apiError {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, c.s.opts.MaxBodyBytes+1))
	if err != nil {
		return malformed("the request body could not be read")
	}
	if int64(len(body)) > c.s.opts.MaxBodyBytes {
		return validation("The request body exceeds the maximum size of %d bytes.", c.s.opts.MaxBodyBytes)
	}
	model, ok := lookupModel(c.key)
	if !ok {
		return validation(wire.MsgInvalidModel)
	}
	if model.profileOnly && c.op != opCountTokens {
		return validation("%s", onDemandMessage(c.key))
	}
	c.model = model
	var e *apiError
	switch c.op {
	case opConverse, opConverseStream:
		var m map[string]any
		if m, e = decodeObject(body); e == nil {
			c.p, e = parseConverse(m)
		}
	case opInvoke, opInvokeStream:
		c.p, e = parseInvoke(model.family, body)
	case opCountTokens:
		c.p, e = parseCountTokens(model.family, body)
	}
	if f := c.s.opts.InputTokenScale; e == nil && f > 0 && f != 1 {
		// Another tokenizer than the simulator's own rule (a knob for
		// testing how estimation copes with a rule it does not know).
		c.p.tokens = int(math.Ceil(float64(c.p.tokens) * f))
		c.p.cacheTokens = int(math.Ceil(float64(c.p.cacheTokens) * f))
	}
	switch {
	case e != nil:
		return e
	case c.p.maxTokens > model.maxOutput:
		return validation("The maximum tokens you requested exceeds the model limit of %d. Try again with a maximum tokens value that is lower than %d.", model.maxOutput, model.maxOutput)
	case c.p.tokens > model.contextSize:
		return validation(wire.MsgInputTooLong)
	}
	return nil
}

// parseCountTokens reads {"input": {"converse": {...}}} or
// {"input": {"invokeModel": {"body": base64}}}. Only Anthropic models
// support CountTokens, as on Bedrock.
func parseCountTokens(f modelFamily, body []byte) (prompt, *apiError) {
	m, e := decodeObject(body)
	if e != nil {
		return prompt{}, e
	}
	if f != familyAnthropic {
		return prompt{}, validation(wire.MsgCountTokensUnsupported)
	}
	in, _ := m["input"].(map[string]any)
	if conv, ok := in["converse"].(map[string]any); ok {
		return parseConverse(conv)
	}
	if im, ok := in["invokeModel"].(map[string]any); ok {
		b64, _ := im["body"].(string)
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return prompt{}, malformed("input.invokeModel.body is not base64")
		}
		return parseInvoke(f, raw)
	}
	return prompt{}, validation("input must have exactly one of converse or invokeModel")
}

// injectFaults applies the request-level faults; it reports whether the
// call was answered (or dropped) by one.
func (c *call) injectFaults() bool {
	s := c.s
	now := time.Now()
	s.mu.Lock()
	reset := s.faults.hit(faultReset, s.opts.Seed, c.seq, now)
	slow := !reset && s.faults.hit(faultSlowHeaders, s.opts.Seed, c.seq, now)
	delay := s.faults.f.SlowHeadersDelay
	if reset {
		s.rec.error(c.key, codeConnectionReset, now)
	}
	s.mu.Unlock()
	if reset {
		resetConn(c.w)
		return true
	}
	if slow && !sleep(c.r.Context(), delay) {
		c.fail(&apiError{http.StatusRequestTimeout, "RequestCanceled", "client went away"})
		return true
	}
	now = time.Now()
	s.mu.Lock()
	notReady := s.faults.hit(faultModelNotReady, s.opts.Seed, c.seq, now)
	unavailable := !notReady && s.faults.hit(faultServiceUnavailable, s.opts.Seed, c.seq, now)
	s.mu.Unlock()
	switch {
	case notReady:
		c.fail(&apiError{http.StatusTooManyRequests, wire.CodeModelNotReady, wire.MsgModelNotReady})
	case unavailable:
		c.fail(&apiError{http.StatusServiceUnavailable, wire.CodeServiceUnavailable, wire.MsgServiceUnavailable})
	default:
		return false
	}
	return true
}

// resetConn drops the connection with a TCP reset.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: net/http resets the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func (c *call) countTokens() {
	c.s.mu.Lock()
	c.s.rec.accept(c.key, 0, time.Now())
	c.s.mu.Unlock()
	body, _ := json.Marshal(obj{"inputTokens": c.p.tokens})
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(wire.HeaderRequestID, c.reqID)
	c.w.Write(body)
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
