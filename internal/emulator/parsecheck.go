package emulator

import "github.com/cfegress/terraform-provider-cfegress/internal/engine/expr"

// parseCheck checks that one expression of an egress rule parses and
// type-checks with the project's expression parser (fields the egress
// builder accepts, operators, literals). Errors name line:column.
func parseCheck(src string) error {
	_, err := expr.ParseAndCheck(src)
	return err
}
