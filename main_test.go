package main

import (
	"os"
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
