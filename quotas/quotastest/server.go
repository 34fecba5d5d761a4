// Package quotastest is a fake of the AWS Service Quotas API (the JSON 1.1
// protocol the real servicequotas client speaks) for tests of code that
// discovers Bedrock quotas. It serves ListServiceQuotas and
// ListAWSDefaultServiceQuotas for the "bedrock" service code, with
// pagination and scripted throttling.
//
// Point a real client at it with static credentials:
//
//	srv := quotastest.NewServer(quotastest.Sample(), quotastest.Options{PageSize: 5})
//	defer srv.Close()
//	client := servicequotas.New(servicequotas.Options{
//		Region:       "us-east-1",
//		BaseEndpoint: aws.String(srv.URL),
//		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
//	})
package quotastest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
}

// Options configures a [Server].
type Options struct {
	// PageSize is the most quotas per page; zero means the request's
	// MaxResults, or 100.
	PageSize int
	// ThrottleFirst is how many calls (of any operation) are answered with
	// TooManyRequestsException before the fake starts answering.
	ThrottleFirst int
	// Defaults are served by ListAWSDefaultServiceQuotas.
	Defaults []Quota
}

// Call is one request the fake received.
type Call struct {
	// Operation is the X-Amz-Target operation, e.g. "ListServiceQuotas".
	Operation string
	// ServiceCode, NextToken and MaxResults are the request's fields.
	ServiceCode string
	NextToken   string
	MaxResults  int
	// Signed is true when the request carried a SigV4 Authorization
	// header for the servicequotas signing name.
	Signed bool
	// Throttled is true when the fake answered TooManyRequestsException.
	Throttled bool
}

// Server is the fake; its URL field is the endpoint to give the client as
// BaseEndpoint. Close it when done.
type Server struct {
	*httptest.Server

	applied []Quota
	opts    Options

	mu    sync.Mutex
	calls []Call
}

const targetPrefix = "ServiceQuotasV20190624."

// NewServer starts a fake serving applied as the account's applied
// quotas of service code "bedrock".
func NewServer(applied []Quota, opts Options) *Server {
	s := &Server{applied: applied, opts: opts}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Calls returns the requests received so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
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
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	c := Call{
		Operation:   strings.TrimPrefix(target, targetPrefix),
		ServiceCode: in.ServiceCode,
		Signed:      strings.Contains(r.Header.Get("Authorization"), "/servicequotas/aws4_request"),
	}
	if in.NextToken != nil {
		c.NextToken = *in.NextToken
	}
	if in.MaxResults != nil {
		c.MaxResults = *in.MaxResults
	}
	s.mu.Lock()
	c.Throttled = len(s.calls) < s.opts.ThrottleFirst
	s.calls = append(s.calls, c)
	s.mu.Unlock()

	var list []Quota
	switch {
	case c.Throttled:
		writeError(w, http.StatusBadRequest, "TooManyRequestsException", "Rate exceeded")
		return
	case !c.Signed:
		writeError(w, http.StatusForbidden, "AccessDeniedException", "missing SigV4 signature")
		return
	case c.Operation == "ListServiceQuotas":
		list = s.applied
	case c.Operation == "ListAWSDefaultServiceQuotas":
		list = s.opts.Defaults
	default:
		writeError(w, http.StatusBadRequest, "UnknownOperationException", c.Operation)
		return
	}
	if c.ServiceCode != "bedrock" {
		writeError(w, http.StatusBadRequest, "NoSuchResourceException", "The request failed because the specified service does not exist.")
		return
	}
	start := 0
	if c.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c.NextToken, "page-"))
		if err != nil || !strings.HasPrefix(c.NextToken, "page-") || n < 0 || n > len(list) {
			writeError(w, http.StatusBadRequest, "InvalidPaginationTokenException", "Invalid pagination token")
			return
		}
		start = n
	}
	size := s.opts.PageSize
	if size <= 0 {
		size = 100
		if c.MaxResults > 0 {
			size = c.MaxResults
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
	w.Header().Set("X-Amzn-RequestId", "fake-"+strconv.Itoa(len(s.Calls())))
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
		{"On-demand model inference tokens per minute for Anthropic Claude 3.5 Haiku", "L-F1A00001", 400000, true},
		{"On-demand model inference requests per minute for Anthropic Claude 3.5 Haiku", "L-F1A00002", 200, true},
		{"Cross-region model inference tokens per minute for Anthropic Claude 3.7 Sonnet V1", "L-F1A00003", 1000000, true},
		{"Cross-Region model inference tokens per minute for Anthropic Claude 3.5 Sonnet V2", "L-F1A00004", 800000, true},
		{"On-demand InvokeModel tokens per minute for Anthropic Claude 3.5 Sonnet V2", "L-AD41C330", 400000, true},
		{"Cross-Region InvokeModel tokens per minute for Anthropic Claude Sonnet 4", "L-59759B4A", 200000, true},
		{"Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4 V1", "L-97E41E39", 300000, true},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1", "L-F1A00008", 400000, true},
		{"Cross-region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1 1M Context Length", "L-F1A00009", 200000, true},
		{"Global cross-Region model inference tokens per minute for Anthropic Claude Sonnet 4.5 V1", "L-F1A0000A", 500000, true},
		{"Cross-region model inference tokens per day for Anthropic Claude Sonnet 4.5 V1", "L-F1A0000B", 576000000, true},
		{"Model invocation max tokens per day for Anthropic Claude Sonnet 4.5 V1", "L-F1A0000C", 288000000, false},
		{"On-demand model inference tokens per minute for Amazon Nova Lite", "L-F1A0000D", 2000000, true},
		{"Cross-region model inference tokens per minute for Amazon Nova Lite", "L-F1A0000E", 4000000, true},
		{"On-demand model inference tokens per minute for Meta Llama 3.1 8B Instruct", "L-F1A0000F", 300000, true},
		{"On-demand model inference requests per minute for Mistral AI Mistral Large (24.07)", "L-F1A00010", 50, true},
		{"On-demand model inference tokens per minute for Cohere Command R+", "L-F1A00011", 300000, true},
		{"On-demand model inference tokens per minute for Amazon Titan Text Embeddings V2", "L-F1A00012", 300000, true},
		{"On-demand model inference tokens per minute for Acme Frontier X1", "L-F1A00013", 100000, true},
		{"Cross-Model Max Tokens Per Day", "L-F1A00014", 1000000000, true},
		{"Batch inference job size (in GB)", "L-F1A00015", 1, true},
		{"Records per batch inference job for Anthropic Claude 3 Haiku", "L-F1A00016", 50000, true},
	}
}
