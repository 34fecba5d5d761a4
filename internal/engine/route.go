package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/tokens"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// Spillover: a call for a model with routes (Config.Routes) may be served
// by one of them instead. Two middlewares decide:
//
//   - Pace, per attempt, before it waits: when the primary would admit the
//     attempt only after the context deadline or a route's MaxWait, and a
//     healthy route admits it sooner (both predicted by the limiter, nothing
//     reserved), the attempt goes to that route: the request's model ID is
//     rewritten in the URL path before signing (same region), or the same
//     operation is called on the route's client with the original input
//     (another region). Reservation, settlement and rate adaptation happen
//     on the route's key only.
//   - SpillID, once per operation, around the SDK's retry loop: when the
//     loop ends with a throttle (tokens per day, or throttles the retry
//     policy gave up on) or ModelNotReady, the loop runs again with the
//     route that failed excluded. An attempt after a ModelNotReady leaves
//     its route at once.
//
// A route is healthy when its key has had no throttle and no ModelNotReady
// within its cooldown. Streams can only spill before their first event:
// every decision is taken before an attempt is sent.

// SpillID is the ID of the middleware that runs the retry loop again on a
// route when the primary fails with a throttle or ModelNotReady.
const SpillID = "bedrockguard.Spillover"

// Spill reasons, as in [Call.SpillReason] and telemetry.
const (
	// SpillDeadline: the primary would admit the call after its deadline.
	SpillDeadline = "deadline"
	// SpillMaxWait: the primary would admit the call after the route's
	// MaxWait.
	SpillMaxWait = "max_wait"
	// SpillTokensPerDay: the primary answered a tokens-per-day throttle.
	SpillTokensPerDay = "tokens_per_day"
	// SpillModelNotReady: the primary answered ModelNotReadyException.
	SpillModelNotReady = "model_not_ready"
	// SpillThrottled: the primary kept throttling until the retry policy
	// gave up.
	SpillThrottled = "throttled"
)

// Route is an alternate of a model ID.
type Route struct {
	// ModelID is the alternate's model ID, inference profile ID or ARN.
	ModelID string
	// Client, when not nil, serves the route: a Bedrock Runtime client of
	// another region. The guard adds itself to each call it makes on it.
	Client *bedrockruntime.Client
	// Region is Client's region; "" for the caller's region.
	Region string
	// CrossFamily lets InvokeModel calls (model-specific bodies) take the
	// route although it is not a variant of the same model.
	CrossFamily bool
	// MaxWait, when positive, is the longest predicted wait on the primary
	// before a call takes this route (if it admits sooner).
	MaxWait time.Duration
	// Cooldown is how long after a throttle or ModelNotReady on the route
	// no call is sent to it (0: one window of its quota).
	Cooldown time.Duration
}

// RouteError is the error of an attempt served on another region's
// client, after that client's own retries: the retry loop of the call that
// spilled does not retry it (the spillover middleware may still try
// another route).
type RouteError struct {
	// ModelID and Region name the route.
	ModelID, Region string
	// Err is the route's error (the SDK's operation error unwrapped).
	Err error
}

// Error names the route and its error.
func (e *RouteError) Error() string {
	return fmt.Sprintf("bedrockguard: spillover to %s/%s: %v", e.Region, e.ModelID, e.Err)
}

// Unwrap returns Err.
func (e *RouteError) Unwrap() error { return e.Err }

// routeState is one candidate of a call: index 0 is the primary, i+1 is
// route i. Filled in lazily.
type routeState struct {
	ready         bool
	modelID       string
	region        string
	key           string
	est           tokens.Estimate
	limits        limiter.Limits
	cfg           pacing.KeyConfig
	allowed       bool
	cooldown      time.Duration
	client        *bedrockruntime.Client
	reserveTokens int64
}

// spillState is a call's routing state. Attempts of a call run one after
// another, so it needs no lock.
type spillState struct {
	input    any
	routes   []Route
	states   []routeState
	current  int
	excluded uint64 // candidates that failed this call
	maxWait  bool   // a route has a MaxWait
	forced   string // leave the current candidate at the next attempt, for this reason
}

// health records, per pacing key, when it last answered a throttle or
// ModelNotReady.
type health struct{ last sync.Map } // key -> *atomic.Int64 (unix nanoseconds)

func (h *health) mark(key string, now time.Time) {
	v, ok := h.last.Load(key)
	if !ok {
		v, _ = h.last.LoadOrStore(key, new(atomic.Int64))
	}
	v.(*atomic.Int64).Store(now.UnixNano())
}

func (h *health) healthy(key string, cooldown time.Duration, now time.Time) bool {
	v, ok := h.last.Load(key)
	if !ok {
		return true
	}
	return now.Sub(time.Unix(0, v.(*atomic.Int64).Load())) >= cooldown
}

// routedKey marks the context of a call made on a route's client on behalf
// of a Call: that client's guard middleware works on the same Call.
type routedKey struct{}

// initSpill gives c its routes, if its model has any.
func (e *Engine) initSpill(c *Call, input any) {
	if e.cfg.Routes == nil || e.cfg.ObserveOnly {
		return
	}
	routes := e.cfg.Routes(c.ModelID)
	if len(routes) == 0 {
		return
	}
	n := min(len(routes), 63)
	sp := &spillState{input: input, routes: routes[:n], states: make([]routeState, n+1)}
	sp.states[0] = routeState{ready: true, modelID: c.ModelID, region: c.Region, key: c.key, est: c.est,
		limits: c.limits, cfg: c.cfg, allowed: true, reserveTokens: c.ReservedTokens}
	for _, r := range sp.routes {
		sp.maxWait = sp.maxWait || r.MaxWait > 0
	}
	c.sp = sp
}

// candidate returns the state of candidate i of c, filled in.
func (e *Engine) candidate(c *Call, i int) *routeState {
	st := &c.sp.states[i]
	if st.ready {
		return st
	}
	r := c.sp.routes[i-1]
	region := r.Region
	if region == "" {
		region = c.Region
	}
	est := e.cfg.Estimator.Estimate(withModel(c.sp.input, r.ModelID))
	lim := e.cfg.Limits(region, r.ModelID)
	kc := e.cfg.Limiter.KeyConfig(lim)
	cool := r.Cooldown
	if cool <= 0 {
		cool = max(kc.Tokens.Window, kc.Requests.Window)
	}
	*st = routeState{ready: true, modelID: r.ModelID, region: region, key: region + "/" + r.ModelID, est: est,
		limits: lim, cfg: kc, cooldown: cool, client: r.Client, reserveTokens: est.ReserveTokens(),
		allowed: r.CrossFamily || modelNeutral(c.Operation) || SameModel(c.ModelID, r.ModelID)}
	return st
}

// predict returns candidate i's predicted wait for c.
func (e *Engine) predict(ctx context.Context, c *Call, i int) time.Duration {
	st := e.candidate(c, i)
	return e.cfg.Limiter.Predict(ctx, st.key, st.cfg, pacing.Amount{Requests: 1, Tokens: float64(st.reserveTokens)}, c.Priority)
}

// choose picks the candidate of c's next attempt and makes it current:
// see the package comment above.
func (e *Engine) choose(ctx context.Context, c *Call) {
	sp := c.sp
	if sp.forced == "" && c.lastClass.Kind == classify.ModelNotReady {
		sp.forced = SpillModelNotReady
	}
	forced := sp.forced
	if forced != "" {
		sp.excluded |= 1 << sp.current
		sp.forced = ""
	}
	now := e.cfg.Clock.Now()
	primaryOK := sp.excluded&1 == 0
	remaining, hasDeadline := time.Duration(0), false
	if dl, ok := ctx.Deadline(); ok {
		remaining, hasDeadline = dl.Sub(now), true
	}
	if forced == "" && primaryOK && !hasDeadline && !sp.maxWait {
		e.use(c, 0, "") // nothing but a failure moves this call
		return
	}
	var w0 time.Duration
	if primaryOK {
		w0 = e.predict(ctx, c, 0)
		if w0 == 0 {
			e.use(c, 0, "")
			return
		}
	}
	best, bestWait := -1, time.Duration(0)
	if forced != "" && primaryOK {
		best, bestWait = 0, w0
	}
	for i := range sp.routes {
		idx := i + 1
		if sp.excluded&(1<<idx) != 0 {
			continue
		}
		st := e.candidate(c, idx)
		if !st.allowed || !e.health.healthy(st.key, st.cooldown, now) {
			continue
		}
		if forced == "" && primaryOK {
			limit, ok := sp.routes[i].MaxWait, sp.routes[i].MaxWait > 0
			if hasDeadline && (!ok || remaining < limit) {
				limit, ok = remaining, true
			}
			if !ok || w0 <= limit {
				continue
			}
		}
		w := e.predict(ctx, c, idx)
		if forced == "" && primaryOK && w >= w0 {
			continue
		}
		if best < 0 || w < bestWait {
			best, bestWait = idx, w
		}
	}
	switch {
	case best > 0 && forced != "":
		e.use(c, best, forced)
	case best > 0 && !primaryOK:
		e.use(c, best, c.SpillReason) // a retry after a spill: keep its reason
	case best > 0 && hasDeadline && w0 > remaining:
		e.use(c, best, SpillDeadline)
	case best > 0:
		e.use(c, best, SpillMaxWait)
	case primaryOK || forced == "":
		e.use(c, 0, "")
	default:
		// Every other candidate failed or is cooling down: try the
		// current one again rather than fail without a call.
		e.use(c, sp.current, c.SpillReason)
	}
}

// use makes candidate i current: the next attempt is paced, sent and
// settled on its key.
func (e *Engine) use(c *Call, i int, reason string) {
	st := e.candidate(c, i)
	c.sp.current = i
	c.key, c.est, c.limits, c.cfg = st.key, st.est, st.limits, st.cfg
	c.ReservedTokens = st.reserveTokens
	c.ServedModelID, c.ServedRegion, c.SpillReason = st.modelID, st.region, reason
}

// spillMiddleware runs the SDK's retry loop again on another candidate
// when it ended with a throttle or ModelNotReady.
type spillMiddleware struct{ e *Engine }

func (spillMiddleware) ID() string { return SpillID }

func (m spillMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	out middleware.FinalizeOutput, md middleware.Metadata, err error,
) {
	c, ok := CallFrom(ctx)
	if !ok || c.sp == nil || ctx.Value(routedKey{}) != nil {
		return next.HandleFinalize(ctx, in)
	}
	for range len(c.sp.routes) + 1 {
		out, md, err = next.HandleFinalize(ctx, in)
		if err == nil || ctx.Err() != nil {
			return out, md, err
		}
		reason := spillAfter(m.e.cfg.Classify, err)
		if reason == "" {
			return out, md, err
		}
		if !m.e.othersLeft(c) {
			return out, md, err
		}
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			if rerr := req.RewindStream(); rerr != nil {
				return out, md, err
			}
		}
		c.sp.forced = reason
	}
	return out, md, err
}

// othersLeft reports whether a candidate other than the current one has
// not failed this call and may take it (the primary always may; a route
// when it is allowed for the operation and healthy).
func (e *Engine) othersLeft(c *Call) bool {
	sp, now := c.sp, e.cfg.Clock.Now()
	for i := range sp.states {
		if i == sp.current || sp.excluded&(1<<i) != 0 {
			continue
		}
		if i == 0 {
			return true
		}
		if st := e.candidate(c, i); st.allowed && e.health.healthy(st.key, st.cooldown, now) {
			return true
		}
	}
	return false
}

// spillAfter returns the reason to run the retry loop again on another
// candidate after it ended with err, or "".
func spillAfter(cl func(error) classify.Class, err error) string {
	if re, ok := errors.AsType[*RouteError](err); ok {
		err = re.Err
	}
	switch k := cl(err); {
	case k.Kind == classify.ThrottleTokensPerDay:
		return SpillTokensPerDay
	case k.Kind == classify.ModelNotReady:
		return SpillModelNotReady
	case k.Throttle:
		return SpillThrottled
	}
	return ""
}

// routeElsewhere serves an attempt on a route's client (another region)
// with the operation's original input. That client's guard middleware
// works on the same Call, so the attempt is paced, reserved and settled
// once, on the route's key.
func (e *Engine) routeElsewhere(ctx context.Context, c *Call, st *routeState) (middleware.FinalizeOutput, middleware.Metadata, error) {
	ctx = context.WithValue(ctx, routedKey{}, c)
	var opts []func(*bedrockruntime.Options)
	if e.cfg.ClientOption != nil {
		opts = append(opts, e.cfg.ClientOption)
	}
	var result any
	var md middleware.Metadata
	var err error
	switch in := withModel(c.sp.input, st.modelID).(type) {
	case *bedrockruntime.ConverseInput:
		var o *bedrockruntime.ConverseOutput
		if o, err = st.client.Converse(ctx, in, opts...); err == nil {
			result, md = o, o.ResultMetadata
		}
	case *bedrockruntime.ConverseStreamInput:
		var o *bedrockruntime.ConverseStreamOutput
		if o, err = st.client.ConverseStream(ctx, in, opts...); err == nil {
			result, md = o, o.ResultMetadata
		}
	case *bedrockruntime.InvokeModelInput:
		var o *bedrockruntime.InvokeModelOutput
		if o, err = st.client.InvokeModel(ctx, in, opts...); err == nil {
			result, md = o, o.ResultMetadata
		}
	case *bedrockruntime.InvokeModelWithResponseStreamInput:
		var o *bedrockruntime.InvokeModelWithResponseStreamOutput
		if o, err = st.client.InvokeModelWithResponseStream(ctx, in, opts...); err == nil {
			result, md = o, o.ResultMetadata
		}
	default:
		err = fmt.Errorf("bedrockguard: spillover cannot serve %T on another client", in)
	}
	if err != nil {
		if oe, ok := errors.AsType[*smithy.OperationError](err); ok {
			err = oe.Err
		}
		return middleware.FinalizeOutput{}, md, &RouteError{ModelID: st.modelID, Region: st.region, Err: err}
	}
	return middleware.FinalizeOutput{Result: result}, md, nil
}

// withModel returns a shallow copy of an operation input with another
// model ID.
func withModel(input any, modelID string) any {
	id := aws.String(modelID)
	switch in := input.(type) {
	case *bedrockruntime.ConverseInput:
		v := *in
		v.ModelId = id
		return &v
	case *bedrockruntime.ConverseStreamInput:
		v := *in
		v.ModelId = id
		return &v
	case *bedrockruntime.InvokeModelInput:
		v := *in
		v.ModelId = id
		return &v
	case *bedrockruntime.InvokeModelWithResponseStreamInput:
		v := *in
		v.ModelId = id
		return &v
	}
	return input
}

// setModelPath rewrites the model ID of a serialized request's URL path
// (/model/{modelId}/{operation}), escaped as the SDK escapes it.
func setModelPath(req *smithyhttp.Request, modelID string) {
	p := req.URL.Path
	op := p[strings.LastIndexByte(p, '/'):]
	req.URL.Path = "/model/" + modelID + op
	req.URL.RawPath = "/model/" + httpbinding.EscapePath(modelID, true) + op
}

// modelNeutral reports whether an operation's request is the same for
// every model (Converse), unlike InvokeModel's model-specific bodies.
func modelNeutral(op string) bool { return op == "Converse" || op == "ConverseStream" }

// profilePrefixes are the geographic prefixes of inference profile IDs.
var profilePrefixes = []string{"us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca."}

// BaseModel returns the model a model ID, inference profile ID or ARN of
// either names: the part after the ARN's last "/", without a geographic
// profile prefix ("us.", "eu.", "apac.", "global."...).
func BaseModel(id string) string {
	if strings.HasPrefix(id, "arn:") {
		id = id[strings.LastIndexByte(id, '/')+1:]
	}
	for _, p := range profilePrefixes {
		if strings.HasPrefix(id, p) {
			return id[len(p):]
		}
	}
	return id
}

// SameModel reports whether two model IDs, inference profile IDs or ARNs
// name variants of one model, which accept the same InvokeModel body.
func SameModel(a, b string) bool { return BaseModel(a) == BaseModel(b) }

type servedKey struct{}

// served is where an operation was served, kept in its result metadata.
type served struct{ modelID, region, reason string }

// ServedFrom returns where the operation whose result metadata is md was
// served: its model ID, region and spill reason ("" on the primary).
func ServedFrom(md middleware.Metadata) (modelID, region, reason string, ok bool) {
	s, ok := md.Get(servedKey{}).(served)
	return s.modelID, s.region, s.reason, ok
}

// WithRoutes returns cfg with the spillover routes per model ID and the
// option that adds the guard to a call on a route's client; cfg itself
// when there are none.
func (cfg Config) WithRoutes(routes map[string][]Route, clientOption func(*bedrockruntime.Options)) Config {
	if len(routes) == 0 {
		return cfg
	}
	cfg.Routes = func(modelID string) []Route { return routes[modelID] }
	cfg.ClientOption = clientOption
	return cfg
}

// asked returns the pacing key, limits and key configuration of the model
// c asked for. They never change after Start, unlike c.key and c.cfg,
// which follow the route of the current attempt: the Observer's
// asynchronous readers (a rate gauge) use these.
func (c *Call) asked() (string, limiter.Limits, pacing.KeyConfig) {
	if c.sp != nil {
		st := &c.sp.states[0]
		return st.key, st.limits, st.cfg
	}
	return c.key, c.limits, c.cfg
}
