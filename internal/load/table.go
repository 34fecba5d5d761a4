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
		if r.AfterDropGoodputPct > 0 {
			fmt.Fprintf(w, "%s/%s after the drop (from one window after it): goodput %.1f%% of the lowered quota, %.1f throttles/1k\n",
				r.Scenario, r.Mode, r.AfterDropGoodputPct, r.AfterDropThrottlesPer)
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
