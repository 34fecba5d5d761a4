package integration

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDashboardShape checks what an operator of several services needs from
// the dashboard, without a server: job, instance, model and region
// variables (multi-select) that every query filters on, exemplars on every
// query, a pacing-store-errors panel, and a failure ratio that leaves out
// what the paging alert leaves out (canceled and PacingRejected, on both
// sides).
func TestDashboardShape(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				RefID    string `json:"refId"`
				Expr     string `json:"expr"`
				Exemplar bool   `json:"exemplar"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Multi bool   `json:"multi"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Multi
	}
	for _, name := range []string{"job", "instance", "model", "region"} {
		if multi, ok := vars[name]; !ok || !multi {
			t.Errorf("variable %q: present %v, multi-select %v", name, ok, multi)
		}
	}
	var store, ratio bool
	for _, p := range d.Panels {
		for _, q := range p.Targets {
			name := p.Title + " " + q.RefID
			if !q.Exemplar {
				t.Errorf("%s: exemplars off", name)
			}
			filters := []string{`job=~"$job"`, `instance=~"$instance"`}
			if strings.Contains(q.Expr, "aws_bedrock_pacing_store_errors_total") {
				store = true // no model label: one store serves every model
			} else {
				filters = append(filters, `gen_ai_request_model=~"$model"`, `cloud_region=~"$region"`)
			}
			for _, f := range filters {
				// Every selector of the query, not just one of them.
				if n, sel := strings.Count(q.Expr, f), len(labelSelectorRE.FindAllString(q.Expr, -1)); n < sel {
					t.Errorf("%s: %d of %d selectors filter on %s: %s", name, n, sel, f, q.Expr)
				}
			}
			if p.Title == "Failure ratio" {
				ratio = true
				num, den, ok := strings.Cut(q.Expr, ") / ")
				for side, e := range map[string]string{"numerator": num, "denominator": den} {
					if !ok || !strings.Contains(e, `error_type!="canceled"`) || !strings.Contains(e, `error_type!="PacingRejected"`) {
						t.Errorf("failure ratio %s keeps canceled or PacingRejected: %s", side, e)
					}
				}
			}
		}
	}
	if !store {
		t.Error("no panel reads aws_bedrock_pacing_store_errors_total")
	}
	if !ratio {
		t.Error(`no "Failure ratio" panel`)
	}
}

// labelSelectorRE matches the label selectors of a query.
var labelSelectorRE = regexp.MustCompile(`[a-z_]+\{[^}]*\}`)
