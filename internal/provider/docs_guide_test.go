package provider

import (
	"os"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
)

// The expressions guide documents every selector of the catalog, every
// traffic source and continent code, and every lint rule of the language:
// adding one without documenting it fails here.
func TestExpressionsGuideCoversTheCatalog(t *testing.T) {
	b, err := os.ReadFile("../../templates/guides/expressions.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	guide := string(b)
	var want []string
	for _, name := range expr.FieldNames() {
		want = append(want, "`"+name+"`")
	}
	for _, v := range expr.OnrampTypes() {
		want = append(want, "`"+v+"`")
	}
	want = append(want, strings.Join(expr.ContinentCodes()[:7], " "), "`T1`", "`never_matches`", "`wrong_slot`", "`expression_too_long`", "140,000")
	for _, w := range want {
		if !strings.Contains(guide, w) {
			t.Errorf("the expressions guide does not mention %s", w)
		}
	}
}
