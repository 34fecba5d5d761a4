package bedrockguard

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/smithy-go/middleware"
	"github.com/bedrockguard/bedrockguard/internal/config"
	"github.com/bedrockguard/bedrockguard/internal/engine"
)

// Route is an alternate that calls for a model may spill over to: another
// inference profile of the model (us., eu., apac. and global. profiles have
// separate quotas), another model, or another region. See [WithSpillover].
type Route struct {
	// ModelID is the alternate's model ID, inference profile ID or ARN.
	// Give it a quota with [WithQuota] as for any model.
	ModelID string
	// Client, when not nil, serves the route in its own region: a Bedrock
	// Runtime client is bound to the region it was made for, so a route to
	// another region needs one (bedrockruntime.NewFromConfig with that
	// region's aws.Config). The guard adds itself to every call it makes on
	// Client, so the call is paced, reserved and settled once, on the
	// route's region and model, whether or not Client was made from a
	// guarded aws.Config. Nil means the caller's client and region.
	Client *bedrockruntime.Client
	// CrossFamily lets InvokeModel calls take the route even when ModelID
	// is not a variant of the same model (an inference profile of it):
	// InvokeModel bodies are model-specific, so by default they spill only
	// between IDs of one model. Converse calls are model-neutral and may
	// always take the route.
	CrossFamily bool
	// MaxWait, when positive, is the longest a call waits for admission on
	// the primary model: a call whose predicted wait is longer goes to this
	// route if the route admits it sooner. Zero: only the context deadline
	// moves calls (a call that would be admitted on the primary after its
	// deadline goes to the route if the route admits it sooner).
	MaxWait time.Duration
	// Cooldown is how long after a throttle or ModelNotReady on the route
	// no call spills to it (circuit-breaker style). Zero means one window
	// of the route's quota (a minute by default).
	Cooldown time.Duration
}

// WithSpillover gives modelID alternates, tried in order of predicted
// admission: a call for modelID goes to a route when
//
//   - its predicted admission on modelID would pass its context deadline or
//     the route's MaxWait, and the route would admit it sooner;
//   - or modelID answered a tokens-per-day throttle or ModelNotReady, or
//     kept throttling until the retry policy gave up;
//
// and the route is healthy (no throttle within its Cooldown) and allowed
// for the operation (see [Route.CrossFamily]). Otherwise it waits on
// modelID as without routes: while modelID admits calls at once, no call
// leaves it. Streams spill only before their first event. The call is
// reserved and settled on the route that served it, never twice; [ServedBy]
// tells where that was, as do the [Call] fields ServedModelID, ServedRegion
// and SpillReason. A later WithSpillover for the same modelID replaces the
// earlier one.
func WithSpillover(modelID string, routes ...Route) Option {
	name := "WithSpillover(" + modelID + ")"
	return func(s *config.Settings) {
		bad := func(format string, a ...any) {
			s.Errs = append(s.Errs, &OptionError{Option: name, Err: fmt.Errorf(format, a...)})
		}
		switch {
		case modelID == "":
			bad("empty model ID")
			return
		case len(routes) == 0:
			bad("no routes")
			return
		case len(routes) > 16:
			bad("%d routes, at most 16", len(routes))
			return
		}
		out := make([]engine.Route, 0, len(routes))
		for i, r := range routes {
			switch {
			case r.ModelID == "":
				bad("route %d: empty model ID", i)
				return
			case r.ModelID == modelID && r.Client == nil:
				bad("route %d: %s is the model itself", i, r.ModelID)
				return
			case r.MaxWait < 0 || r.Cooldown < 0:
				bad("route %d: negative MaxWait or Cooldown", i)
				return
			}
			er := engine.Route{ModelID: r.ModelID, Client: r.Client, CrossFamily: r.CrossFamily,
				MaxWait: r.MaxWait, Cooldown: r.Cooldown}
			if r.Client != nil {
				er.Region = r.Client.Options().Region
				if er.Region == "" {
					bad("route %d: the client has no region", i)
					return
				}
			}
			out = append(out, er)
		}
		if s.Routes == nil {
			s.Routes = map[string][]engine.Route{}
		}
		s.Routes[modelID] = out
	}
}

// Served says where a guarded call was served.
type Served struct {
	// ModelID is the model ID the call was sent to: the one asked for, or
	// a spillover route's.
	ModelID string
	// Region is the region the call was sent to.
	Region string
	// Reason says why the call spilled over ("deadline", "max_wait",
	// "tokens_per_day", "model_not_ready", "throttled"); "" when it was
	// served by the model asked for.
	Reason string
}

// ServedBy returns where the call whose output's ResultMetadata is md was
// served, or false for a call the guard did not handle:
//
//	out, err := client.Converse(ctx, in)
//	if s, ok := bedrockguard.ServedBy(out.ResultMetadata); ok && s.Reason != "" {
//		log.Printf("served by %s in %s (%s)", s.ModelID, s.Region, s.Reason)
//	}
func ServedBy(md middleware.Metadata) (Served, bool) {
	m, r, why, ok := engine.ServedFrom(md)
	return Served{ModelID: m, Region: r, Reason: why}, ok
}
