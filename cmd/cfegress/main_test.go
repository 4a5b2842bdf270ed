package main

import (
	"bytes"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, streams{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "--version")
	if code != exitOK || out != "cfegress dev\n" {
		t.Fatalf("--version: code %d, output %q", code, out)
	}
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	code, _, errOut := runCLI(t, "no-such-command")
	if code != exitUsage {
		t.Fatalf("exit code %d, want %d (stderr %q)", code, exitUsage, errOut)
	}
	if !strings.Contains(errOut, "unknown command") || !strings.Contains(errOut, "cfegress --help") {
		t.Fatalf("stderr %q should name the problem and point to --help", errOut)
	}
}
