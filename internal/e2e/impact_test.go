package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// cfegressCLI builds cmd/cfegress once per test run (next to the provider).
func cfegressCLI(t testing.TB) string {
	t.Helper()
	dir := providerDir(t)
	cliOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "cfegress")
		cmd := exec.Command("go", "build", "-o", cliPath, "./cmd/cfegress")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("go build of cmd/cfegress failed: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// impactConfig is a partner range from the LAX IP and default egress for
// the rest, optionally with a policy that takes the upper half of the
// partner's range to the NRT IP on top, and a description.
func (w *tf) impactConfig(insert bool, description string) string {
	upper := ""
	if insert {
		upper = `    {
      name    = "partner upper half from Tokyo"
      traffic = "net.dst.ip in {198.51.100.128/25}"
      egress  = { method = "dedicated", ipv4 = "203.0.113.10", ipv6 = "2001:db8:10::/64", ipv4_fallback = "203.0.113.20" }
    },
`
	}
	return w.providerBlock() + `resource "cfegress_egress_policies" "all" {
  dedicated_egress_ips = ` + inventoryHCL + `
  policies = [
` + upper + `    {
      name        = "partner from Los Angeles"
      description = "` + description + `"
      traffic     = "net.dst.ip in {198.51.100.0/24}"
      egress      = { method = "dedicated", ipv4 = "203.0.113.20", ipv6 = "2001:db8:20::/64", ipv4_fallback = "203.0.113.10" }
    },
    {
      name    = "web"
      traffic = "net.dst.port in {80 443} and not(net.dst.ip in {198.51.100.0/24})"
      egress  = { method = "default" }
    },
    {
      name    = "everything else"
      traffic = "net.protocol in {\"tcp\" \"udp\"}"
      egress  = { method = "default" }
    },
  ]
}
`
}

// TestImpactThroughTerraform: through the real terraform CLI, a plan that
// inserts a policy warns "Egress impact:" with the region and its example;
// `cfegress impact` on the saved plan prints the same region, its JSON is
// the function's list and --fail-on-impact exits 3; a plan that only
// rewords a description or reorders disjoint policies warns nothing.
func TestImpactThroughTerraform(t *testing.T) {
	terraformPath(t)
	t.Parallel()
	w := newTF(t, emuOptions{Seed: 13})
	cli := cfegressCLI(t)
	w.write(w.impactConfig(false, "allow-listed by the partner"))
	w.mustApply()

	w.write(w.impactConfig(true, "allow-listed by the partner"))
	r := w.run(nil, "plan", "-out=tfplan", "-input=false")
	if r.code != 0 {
		t.Fatalf("plan:\n%s", r)
	}
	out := r.stdout + r.stderr
	for _, want := range []string{"Warning: Egress impact: 1 region of traffic decided differently", "net.dst.ip in {198.51.100.128/25}", "203.0.113.20", "203.0.113.10", `"partner upper half from Tokyo" (#0)`} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Egress impact:"); n != 1 {
		t.Errorf("%d impact warnings, want 1", n)
	}
	show := w.run(nil, "show", "-json", "tfplan")
	if show.code != 0 {
		t.Fatalf("show:\n%s", show)
	}
	planJSON := filepath.Join(w.dir, "plan.json")
	if err := os.WriteFile(planJSON, []byte(show.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(cli, "impact", planJSON)
	tab, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(tab), "cfegress_egress_policies.all: 1 region of traffic decided differently") || !strings.Contains(string(tab), "198.51.100.128/25") {
		t.Errorf("cfegress impact: %v\n%s", err, tab)
	}
	c = exec.Command(cli, "impact", "--format", "json", "--fail-on-impact", planJSON)
	js, err := c.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Errorf("--fail-on-impact: %v, want exit 3", err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(js, &rows); err != nil || len(rows) != 1 {
		t.Fatalf("json %v: %s", err, js)
	}
	after, _ := rows[0]["after"].(map[string]any)
	if after["policy"] != "partner upper half from Tokyo" || after["egress_ip"] != "203.0.113.10" {
		t.Errorf("json row %v", rows[0])
	}
	w.mustApply()

	// A description: a change, no traffic moves (reordering disjoint
	// policies and renames are tested in internal/engine/impact).
	w.write(w.impactConfig(true, "the partner allow-lists 203.0.113.20"))
	r = w.plan()
	if r.code != 2 || strings.Contains(r.stdout+r.stderr, "Egress impact") {
		t.Errorf("description change: exit %d (want 2) or an impact warning:\n%s", r.code, r)
	}
}

// BenchmarkTerraformPlanImpact500 is `terraform plan` of 500 policies with
// one inserted in the middle, with the change impact analysis and without
// it (CFEGRESS_PLAN_IMPACT=off): goal within 1.2x. Like
// BenchmarkTerraformPlan1000 it needs terraform on PATH:
//
//	go test -run '^$' -bench TerraformPlanImpact500 -benchtime 3x ./internal/e2e
func BenchmarkTerraformPlanImpact500(b *testing.B) {
	if os.Getenv("TF_ACC") == "" {
		b.Setenv("TF_ACC", "1")
	}
	w := newTF(b, emuOptions{Seed: 52, SeedRules: dnsRules()})
	g := newGen(52)
	ps := g.list(500)
	w.write(w.policiesConfig(ps))
	w.mustApply()
	ps = slices.Insert(ps, 250, g.policy())
	w.write(w.policiesConfig(ps))
	var with, without time.Duration
	var warned bool
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, off := range []bool{false, true} {
			var env []string
			if off {
				env = []string{"CFEGRESS_PLAN_IMPACT=off"}
			}
			r := w.run(env, "plan", "-detailed-exitcode", "-input=false")
			if r.code != 2 {
				b.Fatalf("plan: exit %d:\n%s", r.code, r)
			}
			if off {
				without += r.cpu
			} else {
				with += r.cpu
				warned = warned || strings.Contains(r.stdout+r.stderr, "Egress impact:")
			}
		}
	}
	b.StopTimer()
	if !warned {
		b.Fatalf("the plan with the analysis gave no impact warning")
	}
	b.ReportMetric(with.Seconds()/float64(b.N), "cpu-s/plan")
	b.ReportMetric(without.Seconds()/float64(b.N), "cpu-s/plan-without-impact")
	b.ReportMetric(with.Seconds()/without.Seconds(), "ratio")
}
