package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestQuietFrameworkTraceUnlessLogging(t *testing.T) {
	for _, k := range logEnv {
		t.Setenv(k, "")
	}
	quietFrameworkTraceUnlessLogging()
	if got := os.Getenv("TF_LOG_SDK_FRAMEWORK"); got != "off" {
		t.Fatalf("no log variables set: TF_LOG_SDK_FRAMEWORK = %q, want off", got)
	}

	for _, k := range []string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_PATH"} {
		t.Run(k, func(t *testing.T) {
			for _, k := range logEnv {
				t.Setenv(k, "")
			}
			t.Setenv(k, "TRACE")
			quietFrameworkTraceUnlessLogging()
			if got := os.Getenv("TF_LOG_SDK_FRAMEWORK"); got != "" {
				t.Fatalf("%s set: framework logging changed to %q, want it left alone", k, got)
			}
		})
	}
}

func TestPrintVersion(t *testing.T) {
	oldV, oldC := version, commit
	t.Cleanup(func() { version, commit = oldV, oldC })
	version, commit = "1.2.3", "abc1234"
	var b strings.Builder
	printVersion(&b)
	want := "terraform-provider-cfegress 1.2.3 (commit abc1234, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if b.String() != want {
		t.Fatalf("printVersion = %q, want %q", b.String(), want)
	}
}
