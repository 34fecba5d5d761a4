package bedrocksim

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Server is a simulated Bedrock Runtime endpoint. It implements
// http.Handler; serve it with httptest.NewServer or [Server.Start]. It is
// safe for concurrent use.
type Server struct {
	opts settings

	mu      sync.Mutex
	seq     uint64
	ledgers map[string]*ledger
	faults  faultState
	rec     recorder
	cache   map[uint64]time.Time // prompt-cache prefixes (key ^ prefix hash) -> expiry

	hs *http.Server
}

// New returns a Server configured by opts. It returns an [*OptionError]
// for the first invalid option: a negative duration or limit, a window
// that is not positive, a fraction or rate outside [0, 1], an empty model
// ID or a nil Option.
//
// The simulator keeps its accounting (quotas, fault windows, timeline) on
// the time package's clock, so tests control it with testing/synctest.
func New(opts ...Option) (*Server, error) {
	st, err := newSettings(opts)
	if err != nil {
		return nil, err
	}
	return &Server{
		opts:    st,
		ledgers: map[string]*ledger{},
		faults:  newFaultState(st.Faults),
		cache:   map[uint64]time.Time{},
	}, nil
}

// SetFaults replaces the faults in force; Trigger.Next counts restart from
// now. It returns an [*OptionError] and changes nothing if a field of f is
// out of range, as [New] does for [WithFaults].
func (s *Server) SetFaults(f Faults) error {
	if err := f.check("Faults."); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = newFaultState(f)
	s.mu.Unlock()
	return nil
}

// Stats returns a snapshot of the counters and the timeline.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.snapshot()
}

// Start serves s on addr ("127.0.0.1:0" picks a free port) in a new
// goroutine and returns the endpoint URL to use as BaseEndpoint.
func (s *Server) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.hs != nil {
		s.mu.Unlock()
		ln.Close()
		return "", errors.New("bedrocksim: server already started")
	}
	s.hs = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	hs := s.hs
	s.mu.Unlock()
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// Close stops a server started with [Server.Start], closing its listener
// and connections. It is a no-op otherwise.
func (s *Server) Close() error {
	s.mu.Lock()
	hs := s.hs
	s.mu.Unlock()
	if hs == nil {
		return nil
	}
	return hs.Close()
}

// Config returns an aws.Config for the real bedrockruntime client talking
// to the simulator at endpoint: region us-east-1, static credentials and
// BaseEndpoint set, and the HTTP client that buffers request bodies (see the package doc).
//
//	client := bedrockruntime.NewFromConfig(bedrocksim.Config(url))
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   httpClient(),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDSIMULATOR", SecretAccessKey: "simulator", Source: "bedrocksim"}, nil
		}),
	}
}

// The operations, as Bedrock names them.
const (
	opConverse       = "Converse"
	opConverseStream = "ConverseStream"
	opInvoke         = "InvokeModel"
	opInvokeStream   = "InvokeModelWithResponseStream"
	opCountTokens    = "CountTokens"
)

var opsByPath = map[string]string{
	"converse":                    opConverse,
	"converse-stream":             opConverseStream,
	"invoke":                      opInvoke,
	"invoke-with-response-stream": opInvokeStream,
	"count-tokens":                opCountTokens,
}

// route splits POST /model/{modelId}/{op}. modelID is "" when the path has
// no model segment.
func route(r *http.Request) (op, modelID string) {
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	parts := strings.Split(p, "/")
	if len(parts) != 3 || parts[0] != "model" {
		return "", ""
	}
	id, err := url.PathUnescape(parts[1])
	if err != nil {
		return "", ""
	}
	if r.Method != http.MethodPost {
		return "", id
	}
	return opsByPath[parts[2]], id
}

// ServeHTTP answers Bedrock Runtime calls and GET /_sim/stats.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim/stats" && r.Method == http.MethodGet {
		st := s.Stats()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
		return
	}
	s.handle(w, r)
}
