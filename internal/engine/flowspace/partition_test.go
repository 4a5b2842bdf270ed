package flowspace

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cfegress/terraform-provider-cfegress/internal/engine"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"
	"github.com/cfegress/terraform-provider-cfegress/internal/engine/flowspace/fstest"
)

// randomList compiles n random policies (nil where compilation fails) and
// their matchers.
func randomList(t *testing.T, a *Analyzer, r *fstest.Rand, n int) ([]*Set, []engine.Matcher) {
	sets := make([]*Set, n)
	ms := make([]engine.Matcher, n)
	for i := range sets {
		src := fstest.GenExpr(r, 2)
		node, err := expr.ParseAndCheck(src)
		if err != nil {
			continue
		}
		s, err := a.Compile(node)
		if err != nil {
			continue
		}
		m, err := expr.CompilePolicy(src, "", "")
		if err != nil {
			t.Fatal(err)
		}
		sets[i], ms[i] = s, m
	}
	return sets, ms
}

func seeded(seed uint32) func() []byte {
	return func() []byte {
		data := make([]byte, 256)
		for i := range data {
			seed = seed*1664525 + 1013904223
			data[i] = byte(seed >> 24)
		}
		return data
	}
}

// TestPartitionIsFirstMatch: walking the flow space through a list labels
// every flow with the first policy that matches it (or -1), as the
// evaluator does; with a kind and the flow's own kind the same.
func TestPartitionIsFirstMatch(t *testing.T) {
	next := seeded(4242)
	checked := 0
	for iter := 0; iter < 300; iter++ {
		r := fstest.New(next())
		a := NewAnalyzer()
		sets, ms := randomList(t, a, r, 2+r.N(5))
		ix := a.NewIndex(sets)
		q := a.NewQuestion()
		q.UseIndex(ix, ix.Empty(), ix.Range(0, len(sets)))
		type lp struct {
			p     Piece
			owner int
		}
		var pieces []lp
		inner := a.Universe()
		if r.N(2) == 0 {
			inner = a.Kind(FlowKinds()[r.N(3)])
		}
		if q.Partition(inner, func(p Piece, owner int) bool { pieces = append(pieces, lp{p, owner}); return true }) != engine.Yes {
			continue
		}
		for _, f := range fstest.GenFlows(r, 60) {
			want := -1
			unknown := false
			for i, m := range ms {
				if m == nil {
					continue
				}
				if got, _ := m.Match(f); got == engine.Yes {
					want = i
					break
				} else if got == engine.Unknown {
					unknown = true
					break
				}
			}
			if in, _ := member(inner, f); !in || unknown {
				continue
			}
			opaque := false
			for _, p := range pieces {
				in, ok := member(&Set{a: a, boxes: fset{p.p.b}}, f)
				if !ok {
					opaque = true
					break
				}
				if in && p.owner != want {
					t.Fatalf("flow %+v in a piece labelled %d, first match %d", *f, p.owner, want)
				}
			}
			if !opaque {
				checked++
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d flows checked", checked)
	}
}

// TestExampleIsInPiece: the example flow of a piece is matched by the
// expression the piece came from (the evaluator says Yes), regexes
// included; a $list condition has no example.
func TestExampleIsInPiece(t *testing.T) {
	next := seeded(99)
	made, lists := 0, 0
	for iter := 0; iter < 400; iter++ {
		r := fstest.New(next())
		a := NewAnalyzer()
		src := fstest.GenExpr(r, 3)
		if r.N(8) == 0 {
			src = "(" + src + `) and net.dst.ip in $3f2b1f6a-0000-4000-8000-000000000001`
		}
		node, err := expr.ParseAndCheck(src)
		if err != nil {
			continue
		}
		s, err := a.Compile(node, nil)
		if err != nil {
			continue
		}
		m, err := expr.CompilePolicy(src, "", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range s.Pieces() {
			f, err := a.Example(p, engine.Flow{IngressColo: "NRT"})
			if err != nil {
				if !errors.Is(err, ErrNoExample) {
					t.Fatal(err)
				}
				if strings.Contains(src, "$") {
					lists++
					continue
				}
				if p.Opaque() {
					continue // a regex condition no flow may meet (not(f matches ".*"))
				}
				t.Fatalf("%s: no example: %v", src, err)
			}
			if got, missing := m.Match(&f); got != engine.Yes {
				t.Fatalf("%s: example %+v: evaluator %v (missing %s)", src, f, got, missing)
			}
			made++
		}
	}
	if made < 300 || lists == 0 {
		t.Fatalf("made %d examples, %d without (lists)", made, lists)
	}
}

// TestDescribeRoundTrip: the description of a set, parsed back and taken
// with its kinds, is the same set.
func TestDescribeRoundTrip(t *testing.T) {
	next := seeded(7)
	checked := 0
	for iter := 0; iter < 400; iter++ {
		r := fstest.New(next())
		a := NewAnalyzer()
		node, err := expr.ParseAndCheck(fstest.GenExpr(r, 3))
		if err != nil {
			continue
		}
		s, err := a.Compile(node)
		if err != nil || s.Empty() {
			continue
		}
		s, _ = a.And(s, a.Kind(FlowKinds()[r.N(3)]))
		if s.Empty() {
			continue
		}
		d := a.Describe(s, 64)
		if strings.Contains(d.Expression, "...") {
			continue
		}
		back, err := expr.ParseAndCheck(d.Expression)
		if err != nil {
			if strings.Contains(d.Expression, "any(not(") {
				continue // syntax the parser does not take yet
			}
			t.Fatalf("description %q does not parse: %v", d.Expression, err)
		}
		bs, err := a.Compile(back)
		if err != nil {
			continue
		}
		kinds := a.Empty()
		for _, k := range d.Kinds {
			kinds, _ = a.Or(kinds, a.Kind(k))
		}
		bs, _ = a.And(bs, kinds)
		if a.Covers(bs, s) != engine.Yes || a.Covers(s, bs) != engine.Yes {
			var bx []string
			for _, b := range s.boxes {
				bx = append(bx, fmt.Sprintf("%v", b))
			}
			t.Fatalf("description %q (kinds %v) is not the set %v", d.Expression, d.Kinds, bx)
		}
		checked++
	}
	if checked < 200 {
		t.Fatalf("only %d descriptions checked", checked)
	}
}

// TestWitnessIsInRegion: after a No, the witness box's example flow passes
// every subtract item (the evaluator matches none) and, when it meets an
// obstacle, matches it.
func TestWitnessIsInRegion(t *testing.T) {
	next := seeded(31337)
	checked := 0
	for iter := 0; iter < 300; iter++ {
		r := fstest.New(next())
		a := NewAnalyzer()
		sets, ms := randomList(t, a, r, 2+r.N(5))
		if sets[0] == nil {
			continue
		}
		ix := a.NewIndex(sets)
		obs := ix.Select(func(i int) bool { return i > 0 && r.N(3) == 0 })
		q := a.NewQuestion()
		q.KeepWitness()
		q.UseIndex(ix, ix.Range(1, len(sets)).Minus(obs), obs)
		if q.Run(sets[0], engine.No) != engine.No {
			continue
		}
		w, ok := q.Witness()
		if !ok {
			t.Fatalf("No without a witness")
		}
		f, err := a.Example(w, engine.Flow{IngressColo: "NRT"})
		if err != nil {
			if w.Opaque() {
				continue
			}
			t.Fatalf("witness without example: %v", err)
		}
		if got, _ := ms[0].Match(&f); got != engine.Yes {
			t.Fatalf("witness %+v not in the inner set", f)
		}
		for i := 1; i < len(sets); i++ {
			if ms[i] == nil {
				continue
			}
			got, _ := ms[i].Match(&f)
			if got == engine.Yes {
				if !obs.Has(i) && !w.Opaque() {
					t.Fatalf("witness %+v is matched by subtract set %d", f, i)
				}
				break
			}
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d witnesses checked", checked)
	}
}
