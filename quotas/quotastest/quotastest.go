// Package quotastest is a fake of the AWS Service Quotas API (the JSON 1.1
// protocol the real servicequotas client speaks) for tests of code that
// discovers Bedrock quotas. [Handler] serves ListServiceQuotas and
// ListAWSDefaultServiceQuotas for the "bedrock" service code, with
// pagination and scripted throttling; it requires SigV4-signed requests.
// [Sample] is a realistic set of quotas.
//
// Serve it with net/http/httptest and point a real client at it with
// static credentials:
//
//	srv := httptest.NewServer(quotastest.Handler(quotastest.Sample(), quotastest.WithPageSize(5)))
//	defer srv.Close()
//	client := servicequotas.New(servicequotas.Options{
//		Region:       "us-east-1",
//		BaseEndpoint: aws.String(srv.URL),
//		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
//	})
//
// In a testing/synctest bubble, where an open loopback connection keeps
// the bubble from ever being idle (so its fake clock never advances), serve
// the handler in process instead, with no network at all: give the client
// an HTTPClient whose Do calls the handler with an
// httptest.ResponseRecorder (see the example).
package quotastest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Quota is one quota the fake serves.
type Quota struct {
	Name       string  // QuotaName, e.g. "On-demand model inference tokens per minute for Amazon Nova Lite"
	Code       string  // QuotaCode, e.g. "L-59759B4A"
	Value      float64 // the quota value
	Adjustable bool    // whether an increase can be requested
	// AWSDefault makes the quota an AWS default value, served by
	// ListAWSDefaultServiceQuotas instead of ListServiceQuotas.
	AWSDefault bool
}

// settings are what the options set. The zero value serves every quota in
// one page (or MaxResults per page), throttles nothing and serves no
// defaults.
type settings struct {
	pageSize      int // most quotas per page; <= 0: MaxResults, or 100
	throttleFirst int // requests answered with TooManyRequestsException first
}

// Option configures a [Handler].
type Option func(*settings)

// WithPageSize sets the most quotas per page (default: the request's
// MaxResults, or 100).
func WithPageSize(n int) Option { return func(s *settings) { s.pageSize = n } }

// WithThrottleFirst makes the fake answer its first n requests (of any
// operation) with TooManyRequestsException, as Service Quotas does to a
// caller over its rate.
func WithThrottleFirst(n int) Option { return func(s *settings) { s.throttleFirst = n } }

// Handler returns the fake, serving quotas as the account's applied quotas
// (and those marked AWSDefault as the AWS defaults)
// of service code "bedrock". It is safe for concurrent use; it counts the
// requests it receives (for [WithThrottleFirst] and the request IDs it
// returns) from zero, so make a new one per test.
func Handler(quotas []Quota, opts ...Option) http.Handler {
	var st settings
	for _, o := range opts {
		o(&st)
	}
	srv := &server{opts: st}
	for _, q := range quotas {
		if q.AWSDefault {
			srv.defaults = append(srv.defaults, q)
		} else {
			srv.applied = append(srv.applied, q)
		}
	}
	return srv
}

type server struct {
	applied  []Quota
	defaults []Quota // served by ListAWSDefaultServiceQuotas
	opts     settings

	mu sync.Mutex
	n  int // requests received
}

const targetPrefix = "ServiceQuotasV20190624."

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || !strings.HasPrefix(target, targetPrefix) ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "expected a JSON 1.1 POST with X-Amz-Target "+targetPrefix+"*")
		return
	}
	var in struct {
		ServiceCode string
		NextToken   *string
		MaxResults  *int
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	op := strings.TrimPrefix(target, targetPrefix)
	signed := strings.Contains(r.Header.Get("Authorization"), "/servicequotas/aws4_request")
	nextToken, maxResults := "", 0
	if in.NextToken != nil {
		nextToken = *in.NextToken
	}
	if in.MaxResults != nil {
		maxResults = *in.MaxResults
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	w.Header().Set("X-Amzn-RequestId", "fake-"+strconv.Itoa(n))

	var list []Quota
	switch {
	case n <= s.opts.throttleFirst:
		writeError(w, http.StatusBadRequest, "TooManyRequestsException", "Rate exceeded")
		return
	case !signed:
		writeError(w, http.StatusForbidden, "AccessDeniedException", "missing SigV4 signature")
		return
	case op == "ListServiceQuotas":
		list = s.applied
	case op == "ListAWSDefaultServiceQuotas":
		list = s.defaults
	default:
		writeError(w, http.StatusBadRequest, "UnknownOperationException", op)
		return
	}
	if in.ServiceCode != "bedrock" {
		writeError(w, http.StatusBadRequest, "NoSuchResourceException", "The request failed because the specified service does not exist.")
		return
	}
	start := 0
	if nextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(nextToken, "page-"))
		if err != nil || !strings.HasPrefix(nextToken, "page-") || n < 0 || n > len(list) {
			writeError(w, http.StatusBadRequest, "InvalidPaginationTokenException", "Invalid pagination token")
			return
		}
		start = n
	}
	size := s.opts.pageSize
	if size <= 0 {
		size = 100
		if maxResults > 0 {
			size = maxResults
		}
	}
	end := min(start+size, len(list))
	out := struct {
		Quotas    []map[string]any
		NextToken *string `json:",omitempty"`
	}{Quotas: []map[string]any{}}
	for _, q := range list[start:end] {
		out.Quotas = append(out.Quotas, map[string]any{
			"ServiceCode": "bedrock",
			"ServiceName": "Amazon Bedrock",
			"QuotaName":   q.Name,
			"QuotaCode":   q.Code,
			"QuotaArn":    fmt.Sprintf("arn:aws:servicequotas:us-east-1:123456789012:bedrock/%s", q.Code),
			"Value":       q.Value,
			"Unit":        "None",
			"Adjustable":  q.Adjustable,
			"GlobalQuota": false,
		})
	}
	if end < len(list) {
		tok := "page-" + strconv.Itoa(end)
		out.NextToken = &tok
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// Sample returns realistic Bedrock quotas in us-east-1, with the naming
// inconsistencies Service Quotas really has: "Cross-region" and
// "Cross-Region", "model inference" and "InvokeModel", " V1" suffixes on
// some names only, a "1M Context Length" variant, a legacy
// requests-per-minute quota, a quota without a scope, quotas that are not per model, and
// a model no table knows. The codes L-59759B4A, L-97E41E39 and L-AD41C330
// are the real ones (aws-samples bedrock-registries.ts); the others are
// made up.
func Sample() []Quota {
	return []Quota{
		{"On-demand model inference tokens per minute for Anthropic Claude 3.5 Haiku", "L-F1A00001", 400000, true, false},
		{"On-demand model inference requests per minute for Anthropic Claude 3.5 Haiku", "L-F1A00002", 200, true, false},
		{"Cross-region model inference tokens per minute for Anthropic Claude 3.7 Sonnet V1", "L-F1A00003", 1000000, true, false},
		{"Cross-Region model inference tokens per minute for Anthropic Claude 3.5 Sonnet V2", "L-F1A00004", 800000, true, false},
		{"On-demand InvokeModel tokens per minute for Anthropic Claude 3.5 Sonnet V2", "L-AD41C330", 400000, true, false},
		{"Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4", "L-59759B4A", 200000, true, false},
		{"Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4 V1", "L-97E41E39", 300000, true, false},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1", "L-F1A00008", 400000, true, false},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1 1M Context Length", "L-F1A00009", 200000, true, false},
		{"Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1", "L-F1A0000A", 500000, true, false},
		{"Cross-region model inference tokens per day for Anthropic Claude Sonnet 4.5 V1", "L-F1A0000B", 576000000, true, false},
		{"Model invocation max tokens per day for Anthropic Claude Sonnet 4.5 V1", "L-F1A0000C", 288000000, false, false},
		{"On-demand model inference tokens per minute for Amazon Nova Lite", "L-F1A0000D", 2000000, true, false},
		{"Cross-region model inference tokens per minute for Amazon Nova Lite", "L-F1A0000E", 4000000, true, false},
		{"On-demand model inference tokens per minute for Meta Llama 3.1 8B Instruct", "L-F1A0000F", 300000, true, false},
		{"On-demand model inference requests per minute for Mistral AI Mistral Large (24.07)", "L-F1A00010", 50, true, false},
		{"On-demand model inference tokens per minute for Cohere Command R+", "L-F1A00011", 300000, true, false},
		{"On-demand model inference tokens per minute for Amazon Titan Text Embeddings V2", "L-F1A00012", 300000, true, false},
		{"On-demand model inference tokens per minute for Acme Frontier X1", "L-F1A00013", 100000, true, false},
		{"Cross-Model Max Tokens Per Day", "L-F1A00014", 1000000000, true, false},
		{"Batch inference job size (in GB)", "L-F1A00015", 1, true, false},
		{"Records per batch inference job for Anthropic Claude 3 Haiku", "L-F1A00016", 50000, true, false},
	}
}
