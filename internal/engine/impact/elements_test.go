package impact

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/spec"
)

// TestElements: each region's element has the region's text, its example
// as a flow object that decodes to a flow Decide decides as before and
// after say, and past the bound the summary elements have null objects.
func TestElements(t *testing.T) {
	inv := []engine.DedicatedIP{ipNRT1, ipKIX, ipLAX}
	catch := policy(t, "catch-all", `net.protocol in {"tcp" "udp"}`, defaultEgress)
	var before, after []engine.Policy
	for i := 0; i < 3; i++ {
		traffic := fmt.Sprintf("net.dst.ip in {198.51.10%d.0/24}", i)
		before = append(before, policy(t, fmt.Sprintf("p%d", i), traffic, dedicated(ipLAX, ipNRT1)))
		after = append(after, policy(t, fmt.Sprintf("p%d", i), traffic, dedicated(ipKIX, ipNRT1)))
	}
	before, after = append(before, catch), append(after, catch)
	res, err := Analyze(Side{Policies: before, Inventory: inv}, Side{Policies: after, Inventory: inv}, Options{MaxRegions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Regions) != 2 || res.MoreCount != 1 {
		t.Fatalf("want 2 regions and 1 more:\n%s", dump(res))
	}
	// Engines of its own, to check what Elements says each list decides.
	eb, err := engine.Compile(before, inv)
	if err != nil {
		t.Fatal(err)
	}
	ea, err := engine.Compile(after, inv)
	if err != nil {
		t.Fatal(err)
	}
	els, err := Elements(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(els) != 2+1+len(res.More) {
		t.Fatalf("%d elements, want %d", len(els), 3+len(res.More))
	}
	names := spec.AttrNames(ElementAttrs())
	for i, el := range els {
		if len(el) != len(names) {
			t.Errorf("element %d has %d attributes, want %v", i, len(el), names)
		}
		if i >= 2 {
			if el["example"] != nil || el["before"] != nil || el["after"] != nil || el["possibly"] != true {
				t.Errorf("summary element %v", el)
			}
			continue
		}
		r := res.Regions[i]
		ex, ok := el["example"].(spec.Object)
		if !ok || el["region"] != Text(r.Description) || el["possibly"] != false {
			t.Fatalf("element %v of %s", el, r)
		}
		f, down, err := spec.FlowFromObject(ex)
		if err != nil {
			t.Fatal(err)
		}
		for side, e := range map[string]*engine.Engine{"before": eb, "after": ea} {
			d, err := e.Decide(&f, down)
			if err != nil || !reflect.DeepEqual(spec.DecisionObject(d), el[side]) {
				t.Errorf("%s: Decide(example) %v (%v), element %v", side, spec.DecisionObject(d), err, el[side])
			}
		}
	}
	if els[2]["region"] != "... and 1 more region" {
		t.Errorf("summary %v", els[2]["region"])
	}
}
