package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// cli is one Terraform-compatible CLI of the version matrix.
type cli struct {
	Path    string
	Product string // "Terraform" or "OpenTofu"
	Version string // "1.8.5"
}

// Name is how subtests and messages name the CLI: "terraform-1.8.5", "tofu-1.10.10".
func (c cli) Name() string {
	if c.OpenTofu() {
		return "tofu-" + c.Version
	}
	return "terraform-" + c.Version
}

// OpenTofu reports whether the CLI is OpenTofu, which resolves a source
// without a host (cfegress/cfegress) to registry.opentofu.org.
func (c cli) OpenTofu() bool { return c.Product == "OpenTofu" }

// Registry is the host the CLI resolves `namespace/name` sources to.
func (c cli) Registry() string {
	if c.OpenTofu() {
		return "registry.opentofu.org"
	}
	return "registry.terraform.io"
}

// GeneratesNestedComputed reports whether `plan -generate-config-out`
// works for cfegress_egress_policies, whose policies hold computed
// attributes (id, precedence). Terraform before 1.9.3 fails with
// `incorrect list element type: attributes "id" and "precedence" are
// required` (hashicorp/terraform#35178, fixed by #35484 in 1.9.3).
func (c cli) GeneratesNestedComputed() bool {
	if c.OpenTofu() {
		return true
	}
	var maj, min, patch int
	if _, err := fmt.Sscanf(c.Version, "%d.%d.%d", &maj, &min, &patch); err != nil {
		return true
	}
	return maj > 1 || (maj == 1 && (min > 9 || (min == 9 && patch >= 3)))
}

// knownGenerateBug is the start of the error of those Terraform releases.
const knownGenerateBug = `incorrect list element type: attributes "id" and "precedence" are required`

var versionLine = regexp.MustCompile(`^(Terraform|OpenTofu) v(\S+)`)

var (
	matrixOnce sync.Once
	matrixCLIs []cli
	matrixErr  string
)

// matrix returns the CLIs the version-matrix tests run on: the one the
// suite runs on (TF_ACC_TERRAFORM_PATH, else terraform on PATH), then each
// of CFEGRESS_MATRIX_CLIS (colon-separated paths; `make test` passes the
// CLIs that `make compat-build` cached, `make compat` all of them). A path
// that does not answer `version` fails the test: a matrix that silently
// shrinks proves nothing.
func matrix(t *testing.T) []cli {
	t.Helper()
	first := terraformPath(t)
	matrixOnce.Do(func() {
		seen := map[string]bool{}
		paths := append([]string{first}, filepath.SplitList(os.Getenv("CFEGRESS_MATRIX_CLIS"))...)
		for _, p := range paths {
			if p == "" {
				continue
			}
			out, err := exec.Command(p, "version").Output()
			if err != nil {
				matrixErr += p + " version: " + err.Error() + "\n"
				continue
			}
			m := versionLine.FindStringSubmatch(strings.TrimSpace(string(out)))
			if m == nil {
				matrixErr += p + " version: unexpected output " + strings.SplitN(string(out), "\n", 2)[0] + "\n"
				continue
			}
			c := cli{Path: p, Product: m[1], Version: m[2]}
			if !seen[c.Name()] {
				seen[c.Name()] = true
				matrixCLIs = append(matrixCLIs, c)
			}
		}
	})
	if matrixErr != "" {
		t.Fatalf("version matrix (CFEGRESS_MATRIX_CLIS):\n%s", matrixErr)
	}
	return matrixCLIs
}

// forEachCLI runs f as a parallel subtest per CLI of the matrix.
func forEachCLI(t *testing.T, f func(t *testing.T, c cli)) {
	t.Helper()
	for _, c := range matrix(t) {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			f(t, c)
		})
	}
}

// newTFWith is newTF running the given CLI.
func newTFWith(t *testing.T, c cli, o emuOptions) *tf {
	t.Helper()
	w := newTF(t, o)
	w.bin = c.Path
	return w
}
