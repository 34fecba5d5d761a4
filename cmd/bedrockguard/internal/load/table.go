package load

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable writes rows as an aligned table.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\tmode\tcalls\tfailed\tgoodput/TPM %\treq/RPM %\tthrottles/1k\tattempts\tp50\tp99\tlarge ok/issued\t\n")
	for _, r := range rows {
		req := "-"
		if r.RequestsPct > 0 {
			req = fmt.Sprintf("%.1f", r.RequestsPct)
		}
		fair := "-"
		if s, ok := r.Fairness["large"]; ok && s.Issued > 0 {
			fair = fmt.Sprintf("%.2f", s.OK/s.Issued)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%s\t%.1f\t%.2f\t%s\t%s\t%s\t\n",
			r.Scenario, r.Mode, r.Calls, r.Failed, r.GoodputPct, req, r.ThrottlesPer1000, r.Attempts,
			FormatLatency(r.P50), FormatLatency(r.P99), fair)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rows {
		if r.AfterChangeGoodputPct > 0 {
			fmt.Fprintf(w, "%s/%s seed %d after the change: %d throttles from it; from two windows after it: goodput %.1f%% of the capacity left, %.1f throttles/1k; first window at 90%%: %d\n",
				r.Scenario, r.Mode, r.Seed, r.ChangeThrottles, r.AfterChangeGoodputPct, r.AfterChangeThrottlesPer, r.WindowsTo90)
		}
	}
	return nil
}

// FormatLatency rounds a latency for a table: milliseconds under a second,
// then hundredths and tenths of a second.
func FormatLatency(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// WriteSpread writes, per scenario and mode, the spread of the rows' key
// numbers over their seeds: min, mean and max.
func WriteSpread(w io.Writer, rows []Row) error {
	type agg struct {
		scenario, mode string
		n              int
		vals           [5][]float64
	}
	var order []*agg
	by := map[string]*agg{}
	for _, r := range rows {
		k := r.Scenario + "/" + r.Mode
		a := by[k]
		if a == nil {
			a = &agg{scenario: r.Scenario, mode: r.Mode}
			by[k] = a
			order = append(order, a)
		}
		a.n++
		ratio := 0.0
		if r.P50 > 0 {
			ratio = float64(r.P99) / float64(r.P50)
		}
		for i, v := range []float64{float64(r.Failed), r.GoodputPct, r.ThrottlesPer1000, ratio, r.AfterChangeGoodputPct} {
			a.vals[i] = append(a.vals[i], v)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\tmode\tseeds\tfailed\tgoodput/TPM %\tthrottles/1k\tp99/p50\tafter change %\t\n")
	for _, a := range order {
		fmt.Fprintf(tw, "%s\t%s\t%d", a.scenario, a.mode, a.n)
		for i, vs := range a.vals {
			lo, hi, sum := vs[0], vs[0], 0.0
			for _, v := range vs {
				lo, hi, sum = min(lo, v), max(hi, v), sum+v
			}
			prec := 1
			if i == 0 {
				prec = 0
			}
			fmt.Fprintf(tw, "\t%.*f (%.*f-%.*f)", prec, sum/float64(len(vs)), prec, lo, prec, hi)
		}
		fmt.Fprint(tw, "\t\n")
	}
	return tw.Flush()
}
