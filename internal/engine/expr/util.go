package expr

import "sort"

// Walk calls fn for n and every node below it, parents first. fn returning
// false skips the node's children.
func Walk(n Node, fn func(Node) bool) {
	if n == nil || !fn(n) {
		return
	}
	switch n := n.(type) {
	case *And:
		for _, x := range n.X {
			Walk(x, fn)
		}
	case *Or:
		for _, x := range n.X {
			Walk(x, fn)
		}
	case *Not:
		Walk(n.X, fn)
	case *Any:
		Walk(n.Body, fn)
	}
}

// FieldOf returns the field a leaf node tests, or nil for And/Or/Not/Any.
func FieldOf(n Node) *FieldRef { return bodyField(n) }

// Fields returns the names of the fields n references, sorted and
// deduplicated (identity.saml_attributes["k"] counts as
// "identity.saml_attributes").
func Fields(n Node) []string {
	seen := map[string]bool{}
	Walk(n, func(x Node) bool {
		if f := bodyField(x); f != nil {
			seen[f.Name] = true
		}
		return true
	})
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// HostSelectorField returns the first field n uses that needs Gateway's
// "Allow egress policy host selectors" setting (net.fqdn.*, app.ids), or
// "" when it uses none.
func HostSelectorField(n Node) string {
	found := ""
	Walk(n, func(x Node) bool {
		if f := bodyField(x); f != nil && found == "" {
			if fi, ok := LookupField(f.Name); ok && fi.HostSelector {
				found = fi.Name
			}
		}
		return found == ""
	})
	return found
}
