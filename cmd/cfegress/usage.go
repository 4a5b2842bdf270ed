package main

import "strings"

// cobraUsageError reports cobra's and pflag's command-line errors, which are
// untyped: unknown commands and flags, missing or extra arguments, bad flag
// values.
func cobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{
		"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "required flag",
		"if any flags in the group",
	} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
