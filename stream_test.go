package bedrockguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/bedrockguard/bedrockguard"
	"github.com/bedrockguard/bedrockguard/bedrocksim"
	"github.com/bedrockguard/bedrockguard/classify"
	"github.com/bedrockguard/bedrockguard/internal/engine"
	"github.com/bedrockguard/bedrockguard/internal/guardtest"
	"github.com/bedrockguard/bedrockguard/internal/limiter"
	"github.com/bedrockguard/bedrockguard/internal/simtest"
	"github.com/bedrockguard/bedrockguard/pacing"
)

// streamObs is an Observer that keeps what the stream tests check.
type streamObs struct {
	bedrockguard.NopObserver
	mu       sync.Mutex
	classes  []classify.Class
	settled  []int64
	ends     []error
	endAt    []time.Time
	first    []time.Duration // FirstChunk at End, -1 when not recorded
	attempts []int
	input    []int // the Call's InputTokens at End
}

func (o *streamObs) Throttled(_ context.Context, _ *bedrockguard.Call, e bedrockguard.ThrottleEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.classes = append(o.classes, e.Class)
}

func (o *streamObs) Settled(_ context.Context, _ *bedrockguard.Call, e bedrockguard.SettleEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.settled = append(o.settled, e.Settled)
}

func (o *streamObs) End(_ context.Context, c *bedrockguard.Call, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ends = append(o.ends, err)
	o.endAt = append(o.endAt, time.Now())
	d, ok := c.FirstChunk()
	if !ok {
		d = -1
	}
	o.first = append(o.first, d)
	o.attempts = append(o.attempts, engine.Attempts(c))
	o.input = append(o.input, c.InputTokens)
}

func (o *streamObs) snapshot() streamObs {
	o.mu.Lock()
	defer o.mu.Unlock()
	return streamObs{classes: append([]classify.Class(nil), o.classes...), settled: append([]int64(nil), o.settled...),
		ends: append([]error(nil), o.ends...), endAt: append([]time.Time(nil), o.endAt...),
		first: append([]time.Duration(nil), o.first...), attempts: append([]int(nil), o.attempts...),
		input: append([]int(nil), o.input...)}
}

// spyStore is the in-memory pacing store, counting the tokens reserved and
// returned: charged = reserved - returned.
type spyStore struct {
	pacing.Store
	mu                 sync.Mutex
	reserved, returned float64
}

func newSpyStore() *spyStore { return &spyStore{Store: limiter.NewMemoryStore(nil)} }

func (s *spyStore) Reserve(ctx context.Context, key string, cfg pacing.KeyConfig, amt pacing.Amount) (pacing.ReserveResult, error) {
	r, err := s.Store.Reserve(ctx, key, cfg, amt)
	if err == nil && r.OK {
		s.mu.Lock()
		s.reserved += amt.Tokens
		s.mu.Unlock()
	}
	return r, err
}

func (s *spyStore) Return(ctx context.Context, key string, cfg pacing.KeyConfig, amt pacing.Amount) error {
	s.mu.Lock()
	s.returned += amt.Tokens
	s.mu.Unlock()
	return s.Store.Return(ctx, key, cfg, amt)
}

// charged is what the guard charged, all reservations settled.
func (s *spyStore) charged() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reserved - s.returned
}

// serverStats waits until the simulator has accounted every accepted call
// (it settles after the last byte of a stream is written) and returns the
// key's stats.
func serverStats(sim *bedrocksim.Server, done func(bedrocksim.KeyStats) bool) bedrocksim.KeyStats {
	for range 10_000 {
		if ks := sim.Stats().Keys[haiku]; done(ks) {
			return ks
		}
		runtime.Gosched()
	}
	return sim.Stats().Keys[haiku]
}

func converseStreamInput(model, text string, maxTokens int32) *bedrockruntime.ConverseStreamInput {
	ci := converseInput(model, text, maxTokens)
	return &bedrockruntime.ConverseStreamInput{ModelId: ci.ModelId, Messages: ci.Messages, InferenceConfig: ci.InferenceConfig}
}

func invokeStreamInput(model string, maxTokens int) *bedrockruntime.InvokeModelWithResponseStreamInput {
	body, _ := json.Marshal(map[string]any{
		"anthropic_version": "bedrock-2023-05-31",
		"max_tokens":        maxTokens,
		"messages":          []any{map[string]any{"role": "user", "content": "Name a color."}},
	})
	return &bedrockruntime.InvokeModelWithResponseStreamInput{ModelId: aws.String(model), Body: body}
}

// streamReader is what the tests need of both stream kinds.
type streamReader interface {
	Close() error
	Err() error
}

// openStream starts op ("ConverseStream" or "InvokeModelWithResponseStream")
// and returns its stream, its events as a channel of event kinds, and the
// call's error.
func openStream(ctx context.Context, client *bedrockruntime.Client, op string, maxTokens int) (streamReader, <-chan string, error) {
	if op == "ConverseStream" {
		out, err := client.ConverseStream(ctx, converseStreamInput(haiku, "Tell me a story.", int32(maxTokens)))
		if err != nil {
			return nil, nil, err
		}
		return out.GetStream(), kinds(out.GetStream().Events()), nil
	}
	out, err := client.InvokeModelWithResponseStream(ctx, invokeStreamInput(haiku, maxTokens))
	if err != nil {
		return nil, nil, err
	}
	return out.GetStream(), kinds(out.GetStream().Events()), nil
}

// kinds forwards the Go type of each event.
func kinds[E any](events <-chan E) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		for ev := range events {
			ch <- fmt.Sprintf("%T", ev)
		}
	}()
	return ch
}

func drain(ch <-chan string) int {
	n := 0
	for range ch {
		n++
	}
	return n
}

// headStart delays the simulator's first frame a little (on the real clock:
// the simulator runs outside the synctest bubbles). Without it, on loopback,
// the response can arrive before net/http has finished with the request
// body, which smithy-go closes as soon as the response arrives; net/http
// then closes the connection in the middle of the stream ("use of closed
// network connection", docs/bedrock.md#use-of-closed-network-connection),
// with or without the guard.
const headStart = 5 * time.Millisecond

var streamOps = []string{"ConverseStream", "InvokeModelWithResponseStream"}

// A throttle as the first frame of a 200 stream is retried through the
// normal retry path: the application sees a normal stream, one throttle is
// counted (as an ordinary, not mid-stream, throttle) and the rate adapts.
func TestStreamFirstFrameThrottleIsRetried(t *testing.T) {
	for _, op := range streamOps {
		t.Run(op, func(t *testing.T) {
			sim, cfg := newSim(t, bedrocksim.WithLatency(headStart, 0), bedrocksim.WithOutputFraction(1),
				bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}}))
			synctest.Test(t, func(t *testing.T) {
				obs := &streamObs{}
				g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}),
					bedrockguard.WithObserver(obs), guardtest.FastRetry())
				if err != nil {
					t.Fatal(err)
				}
				client := bedrockruntime.NewFromConfig(cfg, noKeepAlive)
				st, events, err := openStream(t.Context(), client, op, 40)
				if err != nil {
					t.Fatal(err)
				}
				n := drain(events)
				if err := st.Err(); err != nil || n < 3 {
					t.Fatalf("stream: %d events, err %v; want a normal stream", n, err)
				}
				st.Close()
				ks := serverStats(sim, func(ks bedrocksim.KeyStats) bool { return ks.ThrottledMidStream == 1 && ks.TokensCharged > 0 })
				if ks.Requests != 2 || ks.ThrottledMidStream != 1 {
					t.Fatalf("server: %d requests, %d stream throttles; want the throttled attempt and its retry", ks.Requests, ks.ThrottledMidStream)
				}
				o := obs.snapshot()
				if len(o.classes) != 1 || o.classes[0].Kind != classify.ThrottleTokens || o.classes[0].MidStream || o.classes[0].Status != 429 {
					t.Fatalf("throttles seen: %+v; want one ordinary token throttle", o.classes)
				}
				if len(o.settled) != 1 || o.settled[0] != ks.TokensCharged {
					t.Fatalf("guard settled %v, server charged %d", o.settled, ks.TokensCharged)
				}
				if len(o.ends) != 1 || o.ends[0] != nil || o.attempts[0] != 2 {
					t.Fatalf("ends %v after %v attempts; want one clean end after 2", o.ends, o.attempts)
				}
				if r := g.State(t.Context(), "us-east-1", haiku).Rate[pacing.Tokens]; r >= 1_000_000 {
					t.Fatalf("token rate %v: the throttle did not lower it", r)
				}
				assertNoLeak(t, g)
			})
		})
	}
}

// When retries run out, the call fails with the SDK's modeled error, as an
// HTTP 429 would.
func TestStreamFirstFrameThrottleRetriesRunOut(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithLatency(headStart, 0), bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 100}}))
	g, err := bedrockguard.Install(&cfg, guardtest.FastRetry(), bedrockguard.WithMaxAttempts(3),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	_, err = client.ConverseStream(context.Background(), converseStreamInput(haiku, "hi", 20))
	var te *types.ThrottlingException
	var ffe *engine.FirstFrameError
	if !errors.As(err, &te) || !errors.As(err, &ffe) || ffe.Status != 429 {
		t.Fatalf("err = %v; want a *types.ThrottlingException from the first frame", err)
	}
	if c := classify.Classify(err); c.Kind != classify.ThrottleTokens || c.MidStream {
		t.Fatalf("class %+v", c)
	}
	if n := sim.Stats().Keys[haiku].Requests; n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	assertNoLeak(t, g)
}

// With the peek off, a first-frame throttle reaches the application as the
// SDK delivers it: an empty stream whose Err() is the throttle. The guard
// still counts it (as mid-stream) and releases the reservation.
func TestStreamFirstFrameThrottleWithoutPeek(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithLatency(headStart, 0), bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}}))
	obs := &streamObs{}
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithObserver(obs), bedrockguard.WithoutStreamPeek(),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}))
	if err != nil {
		t.Fatal(err)
	}
	client := bedrockruntime.NewFromConfig(cfg)
	st, events, err := openStream(context.Background(), client, "ConverseStream", 20)
	if err != nil {
		t.Fatal(err)
	}
	if n := drain(events); n != 0 {
		t.Fatalf("%d events", n)
	}
	if _, ok := st.Err().(*types.ThrottlingException); !ok {
		t.Fatalf("Err() = %#v, want the bare *types.ThrottlingException", st.Err())
	}
	st.Close()
	o := obs.snapshot()
	if len(o.classes) != 1 || !o.classes[0].MidStream || !o.classes[0].Throttle {
		t.Fatalf("throttles %+v", o.classes)
	}
	var se *engine.StreamError
	if len(o.ends) != 1 || !errors.As(o.ends[0], &se) {
		t.Fatalf("ends %v", o.ends)
	}
	if sim.Stats().Keys[haiku].Requests != 1 {
		t.Fatal("retried with the peek off")
	}
	assertNoLeak(t, g)
}

// A throttle after N events is classified, counted as a mid-stream
// throttle, surfaced by stream.Err() exactly as the SDK returns it, and the
// reservation is settled with what ran (the service charges it), not
// released. The test runs on synctest's clock so that the token bucket's
// level shows the exact charge.
func TestStreamThrottleAfterEvents(t *testing.T) {
	for _, op := range streamOps {
		t.Run(op, func(t *testing.T) {
			sim, cfg := newSim(t, bedrocksim.WithLatency(headStart, 0), bedrocksim.WithOutputFraction(1),
				bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Next: 1}, StreamThrottleAfter: 3}))
			obs := &streamObs{}
			store := newSpyStore()
			g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}),
				bedrockguard.WithObserver(obs), bedrockguard.WithStore(store))
			if err != nil {
				t.Fatal(err)
			}
			client := bedrockruntime.NewFromConfig(cfg)
			st, events, err := openStream(context.Background(), client, op, 200)
			if err != nil {
				t.Fatal(err)
			}
			if n := drain(events); n != 3 {
				t.Fatalf("%d events before the throttle, want 3", n)
			}
			err = st.Err()
			if _, ok := err.(*types.ThrottlingException); !ok {
				t.Fatalf("Err() = %#v, want the SDK's bare *types.ThrottlingException", err)
			}
			st.Close()
			o := obs.snapshot()
			if len(o.classes) != 1 || o.classes[0].Kind != classify.ThrottleTokens || !o.classes[0].MidStream {
				t.Fatalf("throttles %+v", o.classes)
			}
			var se *engine.StreamError
			var te *types.ThrottlingException
			if len(o.ends) != 1 || !errors.As(o.ends[0], &se) || !errors.As(o.ends[0], &te) {
				t.Fatalf("ends %v", o.ends)
			}
			if o.first[0] < 0 {
				t.Fatal("no time to first chunk")
			}
			assertNoLeak(t, g)
			ks := serverStats(sim, func(ks bedrocksim.KeyStats) bool { return ks.ThrottledMidStream == 1 })
			if c := store.charged(); ks.TokensCharged == 0 || c < float64(ks.TokensCharged)/2 || c > 2*float64(ks.TokensCharged) {
				t.Fatalf("guard charged %v for the cut stream, server %d", c, ks.TokensCharged)
			}
		})
	}
}

func noKeepAlive(o *bedrockruntime.Options) {
	o.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

// An application that closes the stream early: the operation ends at the
// Close, the reservation is settled with the input and the output seen.
func TestStreamEarlyClose(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithOutputFraction(1), simtest.TokensPerDelta(1),
		bedrocksim.WithLatency(headStart, time.Millisecond))
	synctest.Test(t, func(t *testing.T) {
		obs := &streamObs{}
		const capacity = 100_000
		g, err := bedrockguard.Install(&cfg, bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: capacity}), bedrockguard.WithObserver(obs),
			guardtest.Pacing(func(c *limiter.Config) { c.InitialFill = 1 })) // a full bucket: what is missing was charged
		if err != nil {
			t.Fatal(err)
		}
		client := bedrockruntime.NewFromConfig(cfg, noKeepAlive)
		st, events, err := openStream(t.Context(), client, "ConverseStream", 500)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			<-events
		}
		if o := obs.snapshot(); len(o.ends) != 0 {
			t.Fatalf("the operation ended before the stream did: %v", o.ends)
		}
		st.Close()
		drain(events)
		o := obs.snapshot()
		if len(o.ends) != 1 || o.ends[0] != nil || len(o.settled) != 0 || o.first[0] < 0 {
			t.Fatalf("ends %v, settles %v, first chunk %v", o.ends, o.settled, o.first)
		}
		charged := capacity - g.State(t.Context(), "us-east-1", haiku).Level[pacing.Tokens]
		input := o.input[0] // the guard's input estimate for the call
		if charged < float64(input) || charged > float64(input+50) {
			t.Fatalf("charged %v for an early close (input estimate %d)", charged, input)
		}
		assertNoLeak(t, g)
		_ = sim
	})
}

// A slow consumer: the tap never blocks the reader or changes the events;
// the operation ends (with exact usage) only after the application read the
// last event, and the time to first chunk is when the SDK received it.
func TestStreamSlowConsumer(t *testing.T) {
	sim, cfg := newSim(t, bedrocksim.WithLatency(headStart, 0), bedrocksim.WithOutputFraction(1))
	synctest.Test(t, func(t *testing.T) {
		obs := &streamObs{}
		g, err := bedrockguard.Install(&cfg, bedrockguard.WithObserver(obs), guardtest.StreamIdleTimeout(time.Minute),
			bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}))
		if err != nil {
			t.Fatal(err)
		}
		client := bedrockruntime.NewFromConfig(cfg, noKeepAlive)
		start := time.Now()
		st, events, err := openStream(t.Context(), client, "ConverseStream", 40)
		if err != nil {
			t.Fatal(err)
		}
		var got []time.Time // when the application took each event
		for range events {
			got = append(got, time.Now())
			time.Sleep(10 * time.Second) // the user reads slowly
		}
		if err := st.Err(); err != nil || len(got) != 14 {
			t.Fatalf("%d events, err %v", len(got), err)
		}
		st.Close()
		o := obs.snapshot()
		ks := serverStats(sim, func(ks bedrocksim.KeyStats) bool { return ks.TokensCharged > 0 })
		if len(o.ends) != 1 || o.ends[0] != nil || len(o.settled) != 1 || o.settled[0] != ks.TokensCharged {
			t.Fatalf("ends %v, settled %v, server charged %d", o.ends, o.settled, ks.TokensCharged)
		}
		// The stream ends when the SDK's reader reads the end of the body,
		// a few events (its read-ahead) before the application takes the
		// last one; not when ConverseStream returned.
		if o.endAt[0].Before(got[len(got)-5]) {
			t.Fatalf("operation ended at %v, the application took its events at %v", o.endAt[0].Sub(start), got)
		}
		if o.first[0] < 0 || o.first[0] > 10*time.Second {
			t.Fatalf("first chunk at %v; want when the SDK got it (the second event)", o.first[0])
		}
		assertNoLeak(t, g)
	})
}

// A stream neither read nor closed: after the idle timeout the reservation
// is settled and the operation ends with ErrStreamAbandoned, and the
// application can still read the rest of the stream, unchanged.
func TestStreamAbandoned(t *testing.T) {
	_, cfg := newSim(t, bedrocksim.WithLatency(headStart, 0), bedrocksim.WithOutputFraction(1))
	synctest.Test(t, func(t *testing.T) {
		obs := &streamObs{}
		g, err := bedrockguard.Install(&cfg, bedrockguard.WithObserver(obs), guardtest.StreamIdleTimeout(30*time.Second),
			bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 1_000_000}))
		if err != nil {
			t.Fatal(err)
		}
		client := bedrockruntime.NewFromConfig(cfg, noKeepAlive)
		st, events, err := openStream(t.Context(), client, "ConverseStream", 40)
		if err != nil {
			t.Fatal(err)
		}
		<-events
		time.Sleep(time.Minute) // the application forgot the stream
		synctest.Wait()
		assertNoLeak(t, g)
		o := obs.snapshot()
		if len(o.ends) != 1 || !errors.Is(o.ends[0], engine.ErrStreamAbandoned) {
			t.Fatalf("ends %v", o.ends)
		}
		if n := drain(events); n != 13 || st.Err() != nil {
			t.Fatalf("after abandonment: %d more events, err %v", n, st.Err())
		}
		st.Close()
		if n := len(obs.snapshot().ends); n != 1 {
			t.Fatalf("%d ends", n)
		}
	})
}

// malformedServer serves ConverseStream with a frame whose CRC is broken
// at position bad (0 = the first frame).
func malformedServer(t *testing.T, bad int) aws.Config {
	t.Helper()
	enc := eventstream.NewEncoder()
	frame := func(typ, payload string) []byte {
		var msg eventstream.Message
		msg.Headers.Set(":event-type", eventstream.StringValue(typ))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		msg.Payload = []byte(payload)
		var b bytes.Buffer
		if err := enc.Encode(&b, msg); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	frames := [][]byte{
		frame("messageStart", `{"role":"assistant"}`),
		frame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Once upon"}}`),
		frame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" a time"}}`),
		frame("messageStop", `{"stopReason":"end_turn"}`),
		frame("metadata", `{"usage":{"inputTokens":10,"outputTokens":4,"totalTokens":14},"metrics":{"latencyMs":1}}`),
	}
	frames[bad][len(frames[bad])-6] ^= 0xff // a payload byte: the message CRC fails
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(headStart) // the model's latency (see headStart)
		w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
		w.Header().Set("X-Amzn-RequestId", "malformed")
		w.WriteHeader(200)
		for _, f := range frames {
			w.Write(f)
			http.NewResponseController(w).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return bedrocksim.Config(srv.URL)
}

// A malformed frame: the SDK stops with a decode error, the tap passes the
// bytes through and says so to the Observer; the reservation is settled
// with what was seen.
func TestStreamMalformedFrame(t *testing.T) {
	for _, bad := range []int{0, 2} {
		t.Run(fmt.Sprint("frame", bad), func(t *testing.T) {
			cfg := malformedServer(t, bad)
			obs := &streamObs{}
			g, err := bedrockguard.Install(&cfg, bedrockguard.WithObserver(obs))
			if err != nil {
				t.Fatal(err)
			}
			client := bedrockruntime.NewFromConfig(cfg)
			st, events, err := openStream(context.Background(), client, "ConverseStream", 100)
			if err != nil {
				t.Fatal(err)
			}
			if n := drain(events); n != bad || st.Err() == nil {
				t.Fatalf("%d events, err %v; want %d events and the SDK's decode error", n, st.Err(), bad)
			}
			st.Close()
			o := obs.snapshot()
			if len(o.ends) != 1 || !errors.Is(o.ends[0], engine.ErrStreamMalformed) {
				t.Fatalf("ends %v", o.ends)
			}
			assertNoLeak(t, g)
		})
	}
}

// Concurrent streams, with the application reading while the tap decodes,
// some cut by mid-stream throttles and some by first-frame ones. One
// client per goroutine (the SDK's codec is shared per client:
// docs/bedrock.md#concurrent-streams-on-one-client). Run with -race.
func TestStreamConcurrent(t *testing.T) {
	sim, cfg := newSim(t, simtest.TokensPerDelta(2),
		bedrocksim.WithLatency(headStart, 50*time.Microsecond),
		bedrocksim.WithFaults(bedrocksim.Faults{StreamThrottle: bedrocksim.Trigger{Rate: 0.3}, StreamThrottleAfter: 2}))
	obs := &streamObs{}
	g, err := bedrockguard.Install(&cfg, bedrockguard.WithObserver(obs), guardtest.FastRetry(),
		bedrockguard.WithDefaultQuota(bedrockguard.Quota{TokensPerWindow: 10_000_000}))
	if err != nil {
		t.Fatal(err)
	}
	const workers, calls = 8, 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	cut, ok := 0, 0
	for w := range workers {
		wg.Go(func() {
			client := bedrockruntime.NewFromConfig(cfg)
			for i := range calls {
				op := streamOps[(w+i)%2]
				st, events, err := openStream(context.Background(), client, op, 60)
				if err != nil {
					t.Error(err)
					return
				}
				drain(events)
				err = st.Err()
				st.Close()
				mu.Lock()
				if err != nil {
					cut++
				} else {
					ok++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	o := obs.snapshot()
	ks := sim.Stats().Keys[haiku]
	if len(o.ends) != workers*calls || int64(len(o.classes)) != ks.ThrottledMidStream || cut == 0 || ok == 0 {
		t.Fatalf("%d ends, %d throttles seen, server cut %d streams; app saw %d cut, %d whole", len(o.ends), len(o.classes), ks.ThrottledMidStream, cut, ok)
	}
	assertNoLeak(t, g)
}

// BenchmarkStreamTimeToFirstEvent measures, through the real client and
// bedrocksim on loopback, the time from the ConverseStream call to the
// first event the application receives, with the stream peek on and off.
func BenchmarkStreamTimeToFirstEvent(b *testing.B) {
	for _, peek := range []bool{true, false} {
		b.Run(fmt.Sprintf("peek=%v", peek), func(b *testing.B) {
			sim, err := bedrocksim.New(bedrocksim.WithOutputFraction(1))
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(sim)
			defer srv.Close()
			cfg := bedrocksim.Config(srv.URL)
			var opts []bedrockguard.Option
			if !peek {
				opts = append(opts, bedrockguard.WithoutStreamPeek())
			}
			if _, err := bedrockguard.Install(&cfg, opts...); err != nil {
				b.Fatal(err)
			}
			client := bedrockruntime.NewFromConfig(cfg)
			in := converseStreamInput(haiku, "hi", 16)
			var first time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				out, err := client.ConverseStream(context.Background(), in)
				if err != nil {
					b.Fatal(err)
				}
				st := out.GetStream()
				<-st.Events()
				first += time.Since(start)
				for range st.Events() {
				}
				st.Close()
			}
			b.ReportMetric(float64(first.Nanoseconds())/float64(b.N), "ns/first-event")
		})
	}
}
