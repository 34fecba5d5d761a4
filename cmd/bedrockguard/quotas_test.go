package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bedrockguard/bedrockguard/quotas"
	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// isolateAWSEnv points the default credential chain at nothing but what
// the test sets, with instance metadata off so that nothing goes to the
// network.
func isolateAWSEnv(t *testing.T, withKeys bool) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_SERVICE_QUOTAS": "",
	}
	if withKeys {
		env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "AKIDEXAMPLE", "secret"
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// fakeQuotas serves the quotastest fake over loopback, as the CLI's
// -endpoint needs, and records the page each request asks for. The fake
// itself refuses unsigned requests and service codes other than "bedrock".
// The CLI keeps the SDK's standard retryer, which retries a request that a
// race between net/http and the SDK can fail on a fast server
// (aws/aws-sdk-go-v2#2737), so tests check which pages were asked for, not
// how many requests came.
type fakeQuotas struct {
	*httptest.Server

	mu     sync.Mutex
	tokens []string // the NextToken of each request, "" for a first page
}

func newFakeQuotas(t *testing.T, applied []quotastest.Quota, opts ...quotastest.Option) *fakeQuotas {
	t.Helper()
	f := &fakeQuotas{}
	h := quotastest.Handler(applied, opts...)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct{ NextToken string }
		_ = json.Unmarshal(body, &in)
		f.mu.Lock()
		f.tokens = append(f.tokens, in.NextToken)
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// pages returns the pages asked for, each once, in order.
func (f *fakeQuotas) pages() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, tok := range f.tokens {
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	return out
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// rowRE matches a table row by its cells, whatever the padding.
func rowRE(cells ...string) *regexp.Regexp {
	for i, c := range cells {
		cells[i] = regexp.QuoteMeta(c)
	}
	return regexp.MustCompile(`(?m)^` + strings.Join(cells, `\s+`) + `\s*$`)
}

func TestQuotasTable(t *testing.T) {
	isolateAWSEnv(t, true)
	srv := newFakeQuotas(t, quotastest.Sample(), quotastest.WithPageSize(7))
	code, out, errOut := runCLI(t, "quotas", "-region", "us-east-1", "-endpoint", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if pages := srv.pages(); !slices.Equal(pages, []string{"", "page-7", "page-14", "page-21"}) {
		t.Errorf("pages asked for: %q", pages)
	}
	for _, row := range [][]string{
		{"MODEL ID", "SCOPE", "TPM", "RPM", "TPD", "QUOTA CODE", "ADJUSTABLE"},
		{"anthropic.claude-3-5-haiku-20241022-v1:0", "on-demand", "400000", "-", "-", "L-F1A00001", "yes"},
		{"anthropic.claude-3-5-haiku-20241022-v1:0", "on-demand", "-", "200", "-", "L-F1A00002", "yes"},
		{"anthropic.claude-3-5-sonnet-20241022-v2:0", "on-demand", "400000", "-", "-", "L-AD41C330", "yes"},
		{"us.anthropic.claude-sonnet-4-20250514-v1:0", "cross-region", "200000", "-", "-", "L-59759B4A", "yes"},
		{"global.anthropic.claude-sonnet-4-20250514-v1:0", "global-cross-region", "300000", "-", "-", "L-97E41E39", "yes"},
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0 [1M context]", "cross-region", "200000", "-", "-", "L-F1A00009", "yes"},
		{"anthropic.claude-sonnet-4-5-20250929-v1:0", "any", "-", "-", "288000000", "L-F1A0000C", "no"},
		{"global.anthropic.claude-sonnet-4-5-20250929-v1:0", "any", "-", "-", "288000000", "L-F1A0000C", "no"},
		{"? Acme Frontier X1", "on-demand", "100000", "-", "-", "L-F1A00013", "yes"},
	} {
		if !rowRE(row...).MatchString(out) {
			t.Errorf("no row %q in\n%s", row, out)
		}
	}
	for _, s := range []string{
		"quotas naming a model not in the model table (add it with quotas.WithModel): 1",
		"L-F1A00014  Cross-Model Max Tokens Per Day",
		"quotas that are not per-model runtime quotas, or whose names were not understood: 3",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "eu.anthropic") {
		t.Errorf("eu. profiles listed for us-east-1:\n%s", out)
	}
}

func TestQuotasModelJSON(t *testing.T) {
	isolateAWSEnv(t, true)
	t.Setenv("AWS_REGION", "us-east-1") // the region may come from the environment
	srv := newFakeQuotas(t, quotastest.Sample())
	const id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
	code, out, errOut := runCLI(t, "quotas", "-model", id, "-json", "-endpoint", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var got struct {
		Region  string
		Entries []quotas.Entry
		Guard   map[string]guardQuota
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if got.Region != "us-east-1" || len(got.Entries) != 4 {
		t.Errorf("region %q, %d entries (want the TPM, 1M TPM and two TPD quotas): %s", got.Region, len(got.Entries), out)
	}
	want := guardQuota{TokensPerWindow: 400000, TokensPerDay: 288000000}
	if len(got.Guard) != 1 || got.Guard[id] != want {
		t.Errorf("guard quotas %+v, want %s: %+v", got.Guard, id, want)
	}

	// Given the base model ID: every route of the model.
	code, out, _ = runCLI(t, "quotas", "-model", "anthropic.claude-sonnet-4-5-20250929-v1:0", "-json", "-endpoint", srv.URL)
	got.Guard = nil
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || len(got.Guard) != 3 || len(got.Entries) != 5 {
		t.Errorf("base ID: exit %d, %v, %d entries, guard %+v", code, err, len(got.Entries), got.Guard)
	}

	// The table form ends with the quota the guard would use.
	code, out, _ = runCLI(t, "quotas", "-model", id, "-endpoint", srv.URL)
	if code != 0 || !strings.Contains(out, "guard quota for "+id+": TPM 400000, RPM -, TPD 288000000") {
		t.Errorf("exit %d:\n%s", code, out)
	}

	// A model without a quota is an error, not an empty table.
	code, _, errOut = runCLI(t, "quotas", "-model", "anthropic.claude-3-haiku-20240307-v1:0", "-endpoint", srv.URL)
	if code != 1 || !strings.Contains(errOut, "no Bedrock quota in us-east-1") {
		t.Errorf("unknown model: exit %d, stderr %q", code, errOut)
	}
}

func TestQuotasDefaults(t *testing.T) {
	isolateAWSEnv(t, true)
	applied := quotastest.Sample()[:1]
	srv := newFakeQuotas(t, append(applied,
		quotastest.Quota{Name: applied[0].Name, Code: applied[0].Code, Value: 200000, Adjustable: true, AWSDefault: true},
		quotastest.Quota{Name: "Cross-region model inference tokens per minute for Anthropic Claude Haiku 4.5 V1", Code: "L-F1A000FF", Value: 250000, Adjustable: true, AWSDefault: true},
	))
	code, out, errOut := runCLI(t, "quotas", "-region", "eu-west-1", "-defaults", "-endpoint", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, row := range [][]string{
		{"anthropic.claude-3-5-haiku-20241022-v1:0", "on-demand", "400000", "-", "-", "L-F1A00001", "yes", "200000"},
		{"eu.anthropic.claude-haiku-4-5-20251001-v1:0", "cross-region", "250000", "-", "-", "L-F1A000FF", "yes", "250000"},
	} {
		if !rowRE(row...).MatchString(out) {
			t.Errorf("no row %q in\n%s", row, out)
		}
	}
}

func TestQuotasBadFlags(t *testing.T) {
	isolateAWSEnv(t, true)
	for _, args := range [][]string{
		{"-nope"}, {"extra"}, {"-json=maybe"}, {"-timeout", "0s"},
		{"-endpoint", "ftp://example.com"}, {"-endpoint", "localhost:1234"},
		{}, // no region anywhere
	} {
		code, _, errOut := runCLI(t, append([]string{"quotas"}, args...)...)
		if code != 2 || !strings.Contains(errOut, "bedrockguard quotas:") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
	}
	if code, _, _ := runCLI(t, "quotas", "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}

// TestQuotasWithoutCredentials checks that the command fails fast, before
// any call, when the default chain has no credentials.
func TestQuotasWithoutCredentials(t *testing.T) {
	isolateAWSEnv(t, false)
	srv := newFakeQuotas(t, quotastest.Sample())
	code, out, errOut := runCLI(t, "quotas", "-region", "us-east-1", "-endpoint", srv.URL)
	if code != 1 || !strings.Contains(errOut, "no AWS credentials") || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if pages := srv.pages(); len(pages) != 0 {
		t.Errorf("requests made without credentials: %q", pages)
	}
}

// TestQuotasAPIError checks that an API error is reported with the Region.
func TestQuotasAPIError(t *testing.T) {
	isolateAWSEnv(t, true)
	srv := httptest.NewServer(quotastest.Handler(quotastest.Sample()))
	srv.Close() // nothing listens: the SDK's retries fail quickly with connection refused
	code, _, errOut := runCLI(t, "quotas", "-region", "us-east-1", "-endpoint", srv.URL, "-timeout", "20s")
	if code != 1 || !strings.Contains(errOut, "us-east-1: quotas: listing") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// TestQuotasWithoutCredentialsNoIMDSWarning checks that the SDK's "falling
// back to IMDSv1" warning (an instance metadata endpoint without IMDSv2
// tokens, here a local server answering 404) is not printed before the
// command's own error.
func TestQuotasWithoutCredentialsNoIMDSWarning(t *testing.T) {
	isolateAWSEnv(t, false)
	imds := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(imds.Close)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	var sdkLog strings.Builder
	prev := awsLogOutput
	awsLogOutput = &sdkLog
	t.Cleanup(func() { awsLogOutput = prev })

	srv := newFakeQuotas(t, quotastest.Sample())
	code, out, errOut := runCLI(t, "quotas", "-region", "us-east-1", "-endpoint", srv.URL)
	if code != 1 || !strings.Contains(errOut, "no AWS credentials") || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if sdkLog.Len() != 0 || strings.Contains(errOut, "falling back") {
		t.Errorf("SDK log lines printed: %q", sdkLog.String())
	}

	// Held lines are written once the credentials work.
	l := &heldLogger{}
	l.Logf("WARN", "held %d", 1)
	l.release(true)
	l.Logf("WARN", "later")
	if got := sdkLog.String(); got != "SDK WARN held 1\nSDK WARN later\n" {
		t.Errorf("after release: %q", got)
	}
}

// TestLoadtestHelpExitsZero: -h prints the usage and exits 0, like the
// other commands.
func TestLoadtestHelpExitsZero(t *testing.T) {
	code, _, errOut := runCLI(t, "loadtest", "-h")
	if code != 0 || strings.Contains(errOut, "usage error") || !strings.Contains(errOut, "-scenario") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
