package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/bedrockguard/bedrockguard/quotas"
)

func init() {
	register(command{
		name:    "quotas",
		summary: "list the Bedrock quotas of a Region, mapped to model and inference-profile IDs",
		run:     runQuotas,
	})
}

type quotasFlags struct {
	region, model, endpoint string
	serve                   string
	json, defaults          bool
	timeout                 time.Duration
}

func parseQuotasFlags(args []string, stderr io.Writer) (quotasFlags, error) {
	var f quotasFlags
	fs := flag.NewFlagSet("quotas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bedrockguard quotas -region R [-model ID] [-json] [-defaults] [-endpoint URL]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Lists the Service Quotas of service code \"bedrock\" with the default credential chain")
		fmt.Fprintln(stderr, "(permission servicequotas:ListServiceQuotas) and maps them to model and inference-profile IDs.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.region, "region", "", "AWS Region to list (default: AWS_REGION or the shared config)")
	fs.StringVar(&f.model, "model", "", "show only the quotas of this model ID or inference-profile ID")
	fs.BoolVar(&f.json, "json", false, "write JSON instead of a table")
	fs.BoolVar(&f.defaults, "defaults", false, "also list the AWS default values (servicequotas:ListAWSDefaultServiceQuotas)")
	fs.StringVar(&f.endpoint, "endpoint", "", "Service Quotas endpoint URL (for tests against a fake)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up after this long")
	fs.StringVar(&f.serve, "serve", "", "serve a fake Service Quotas API with sample us-east-1 quotas at ADDR (e.g. 127.0.0.1:8089) until interrupted, to try quotas and advise without AWS")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return f, err
		}
		return f, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if f.timeout <= 0 {
		return f, fmt.Errorf("%w: -timeout must be positive", errUsage)
	}
	if f.endpoint != "" {
		u, err := url.Parse(f.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return f, fmt.Errorf("%w: -endpoint %q is not an http(s) URL", errUsage, f.endpoint)
		}
	}
	return f, nil
}

func runQuotas(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseQuotasFlags(args, stderr)
	if err != nil {
		return err
	}
	if f.serve != "" {
		return serveFakeQuotas(ctx, f.serve, stdout)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	cfg, err := loadAWSConfig(ctx, f.region)
	if err != nil {
		return err
	}
	client := servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) {
		if f.endpoint != "" {
			o.BaseEndpoint = aws.String(f.endpoint)
		}
	})
	var opts []quotas.Option
	if f.defaults {
		opts = append(opts, quotas.WithDefaults())
	}
	cat, err := quotas.Discover(ctx, client, opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Region, err)
	}
	entries := cat.Entries
	if f.model != "" {
		entries = cat.For(f.model)
		if len(entries) == 0 {
			return fmt.Errorf("no Bedrock quota in %s applies to %q (run without -model to see them all)", cat.Region, f.model)
		}
	}
	if f.json {
		return writeQuotasJSON(stdout, cat, entries, f.model)
	}
	return writeQuotasTable(stdout, cat, entries, f)
}

// guardQuota is a bedrockguard.Quota as the JSON output writes it.
type guardQuota struct {
	TokensPerWindow   int64 `json:"tokensPerMinute,omitempty"`
	RequestsPerWindow int64 `json:"requestsPerMinute,omitempty"`
	TokensPerDay      int64 `json:"tokensPerDay,omitempty"`
}

func writeQuotasJSON(w io.Writer, cat *quotas.Catalog, entries []quotas.Entry, model string) error {
	out := struct {
		Region    string                `json:"region"`
		FetchedAt time.Time             `json:"fetchedAt"`
		Entries   []quotas.Entry        `json:"entries"`
		Unparsed  []quotas.Unparsed     `json:"unparsed,omitempty"`
		Guard     map[string]guardQuota `json:"guard"`
	}{Region: cat.Region, FetchedAt: cat.FetchedAt, Entries: entries, Guard: map[string]guardQuota{}}
	if model == "" {
		out.Unparsed = cat.Unparsed
	}
	for _, id := range guardIDs(cat, entries, model) {
		q, _ := cat.Quota(id)
		out.Guard[id] = guardQuota{q.TokensPerWindow, q.RequestsPerWindow, q.TokensPerDay}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// guardIDs returns, sorted, the IDs that entries give a guard quota.
// Given a -model that is an inference-profile ID, only that ID; given a
// base model ID, every route of the model.
func guardIDs(cat *quotas.Catalog, entries []quotas.Entry, model string) []string {
	if _, ok := cat.Quota(model); ok && !slices.ContainsFunc(entries, func(e quotas.Entry) bool { return e.ModelID == model }) {
		return []string{model}
	}
	var ids []string
	for _, e := range entries {
		if e.Context != "" {
			continue
		}
		for _, id := range e.IDs {
			if _, ok := cat.Quota(id); ok {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// The kinds of quota (quotas.Entry.Kind).
const (
	kindTPM = "tokens-per-minute"
	kindRPM = "requests-per-minute"
	kindTPD = "tokens-per-day"
)

func writeQuotasTable(w io.Writer, cat *quotas.Catalog, entries []quotas.Entry, f quotasFlags) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "MODEL ID\tSCOPE\tTPM\tRPM\tTPD\tQUOTA CODE\tADJUSTABLE"
	if f.defaults {
		head += "\tAWS DEFAULT"
	}
	fmt.Fprintln(tw, head+"\t")
	type row struct {
		e     quotas.Entry
		ei    int
		id    string
		route int
		cells string
	}
	var rows []row
	for ei, e := range entries {
		ids := e.IDs
		if f.model != "" && slices.Contains(ids, f.model) {
			ids = []string{f.model}
		}
		if len(ids) == 0 {
			ids = []string{"? " + e.Model + versionSuffix(e)}
		}
		for _, id := range ids {
			label := id
			if e.Context != "" {
				label += " [" + e.Context + " context]"
			}
			cols := []string{"-", "-", "-"}
			switch e.Kind {
			case kindTPM:
				cols[0] = formatValue(e.Value)
			case kindRPM:
				cols[1] = formatValue(e.Value)
			case kindTPD:
				cols[2] = formatValue(e.Value)
			}
			adj := "no"
			if e.Adjustable {
				adj = "yes"
			}
			line := strings.Join([]string{label, e.Scope, cols[0], cols[1], cols[2], e.QuotaCode, adj}, "\t")
			if f.defaults {
				d := "-"
				if e.Default > 0 || !e.Applied {
					d = formatValue(e.Default)
				}
				line += "\t" + d
			}
			rows = append(rows, row{e: e, ei: ei, id: id, route: routeRank(id, e.ModelID), cells: line})
		}
	}
	// Entries come sorted by model; within a model, list the bare ID, then
	// the geographic profiles, then global., each TPM, RPM, TPD.
	slices.SortStableFunc(rows, func(a, b row) int {
		if a.e.ModelID != b.e.ModelID || a.e.ModelID == "" {
			return a.ei - b.ei
		}
		if a.route != b.route {
			return a.route - b.route
		}
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		if c := strings.Compare(a.e.Context, b.e.Context); c != 0 {
			return c
		}
		return kindRank(a.e.Kind) - kindRank(b.e.Kind)
	})
	for _, r := range rows {
		fmt.Fprintln(tw, r.cells+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d quota rows in %s, listed %s.", len(rows), cat.Region, cat.FetchedAt.UTC().Format(time.RFC3339))
	fmt.Fprintln(w, " TPD quotas without a scope (\"any\") count every route of the model.")
	if f.model != "" {
		for _, id := range guardIDs(cat, entries, f.model) {
			if q, ok := cat.Quota(id); ok {
				fmt.Fprintf(w, "guard quota for %s: TPM %s, RPM %s, TPD %s\n", id,
					formatValue(float64(q.TokensPerWindow)), formatValue(float64(q.RequestsPerWindow)), formatValue(float64(q.TokensPerDay)))
			}
		}
		return nil
	}
	var um []quotas.Entry
	for _, e := range cat.Entries {
		if e.ModelID == "" {
			um = append(um, e)
		}
	}
	if len(um) > 0 {
		fmt.Fprintf(w, "quotas naming a model not in the model table (add it with quotas.WithModel): %d\n", len(um))
		for _, e := range um {
			fmt.Fprintf(w, "  %s  %s\n", e.QuotaCode, e.QuotaName)
		}
	}
	if len(cat.Unparsed) > 0 {
		fmt.Fprintf(w, "quotas that are not per-model runtime quotas, or whose names were not understood: %d\n", len(cat.Unparsed))
		for _, u := range cat.Unparsed {
			fmt.Fprintf(w, "  %s  %s (%s)\n", u.QuotaCode, u.QuotaName, u.Reason)
		}
	}
	return nil
}

// routeRank orders a model's IDs: bare, geographic profiles, global.
func routeRank(id, base string) int {
	switch {
	case id == base:
		return 0
	case strings.HasPrefix(id, "global."):
		return 2
	}
	return 1
}

func kindRank(k string) int {
	switch k {
	case kindTPM:
		return 0
	case kindRPM:
		return 1
	}
	return 2
}

func versionSuffix(e quotas.Entry) string {
	if e.Version == "" {
		return ""
	}
	return " " + e.Version
}

// formatValue writes a quota value as an integer when it is one, "-" for
// zero.
func formatValue(v float64) string {
	if v == 0 {
		return "-"
	}
	if v == float64(int64(v)) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
