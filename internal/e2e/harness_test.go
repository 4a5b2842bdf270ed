// Package e2e drives the real `terraform` CLI with the real provider binary
// (built once per test run, installed through dev_overrides, no registry,
// no `terraform init`) against the in-process API emulator, whose fault
// injection, history and out-of-band edits the tests use.
//
// Tests are acceptance tests: they skip unless TF_ACC is set (make test sets
// it) and terraform is on PATH. TF_ACC_TERRAFORM_PATH, when set, names the
// terraform binary.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cfegress/terraform-provider-cfegress/internal/emulator"
)

const (
	providerSource         = "registry.terraform.io/cfegress/cfegress"
	providerSourceOpenTofu = "registry.opentofu.org/cfegress/cfegress"
)

var (
	buildOnce sync.Once
	buildDir  string // holds terraform-provider-cfegress
	buildErr  error
	tmpRoot   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tmpRoot != "" {
		_ = os.RemoveAll(tmpRoot)
	}
	os.Exit(code)
}

// terraformPath returns the terraform CLI, or skips the test.
func terraformPath(t testing.TB) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("end-to-end test: set TF_ACC=1 (make test does) to build the provider and run terraform")
	}
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	p, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("end-to-end test: the terraform CLI is not on PATH (install Terraform >= 1.8)")
	}
	return p
}

// providerDir builds the provider binary once per test run.
func providerDir(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		// Not t.TempDir(): the binary is built once, by whichever test comes
		// first, and shared by every later (parallel) test, so it must outlive
		// that test; TestMain removes tmpRoot after m.Run.
		tmpRoot, err = os.MkdirTemp("", "cfegress-e2e-") //nolint:usetesting // shared across tests, removed in TestMain
		if err != nil {
			buildErr = err
			return
		}
		buildDir = filepath.Join(tmpRoot, "bin")
		cmd := exec.Command("go", "build", "-o", filepath.Join(buildDir, "terraform-provider-cfegress"), ".")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build of the provider failed: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the module")
	}
	return filepath.Dir(gomod), nil
}

// tf is one Terraform working directory using the built provider.
type tf struct {
	t    testing.TB
	bin  string
	dir  string
	env  []string
	emu  *emulator.Emulator
	url  string
	tok  string
	acct string
}

// emuOptions tune newTF's emulator.
type emuOptions struct {
	Seed      int64
	SeedRules []emulator.Rule
	// Emulator, when set, adjusts the emulator's configuration.
	Emulator func(*emulator.Config)
}

// newTF starts an emulator and prepares a working directory whose CLI
// configuration points the provider at the built binary.
func newTF(t testing.TB, o emuOptions) *tf {
	t.Helper()
	bin := terraformPath(t)
	pdir := providerDir(t)
	tok := "cfegress-e2e-" + randomHex(t, 16)
	ecfg := emulator.Config{Token: tok, RateLimit: -1, Seed: o.Seed}
	if o.Emulator != nil {
		o.Emulator(&ecfg)
	}
	emu := emulator.New(ecfg)
	if len(o.SeedRules) > 0 {
		if err := emu.SeedRules(emulator.DefaultAccountID, o.SeedRules); err != nil {
			t.Fatalf("seeding the emulator: %v", err)
		}
	}
	url, err := emu.Start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("starting the emulator: %v", err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	dir := t.TempDir()
	rc := filepath.Join(dir, ".terraformrc")
	// Both addresses: OpenTofu resolves cfegress/cfegress to
	// registry.opentofu.org/cfegress/cfegress.
	rcText := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    %q = %q\n    %q = %q\n  }\n  direct {}\n}\n", providerSource, pdir, providerSourceOpenTofu, pdir)
	if err := os.WriteFile(rc, []byte(rcText), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "TF_CLI_CONFIG_FILE", strings.HasPrefix(k, "TF_LOG"), k == "CLOUDFLARE_API_TOKEN",
			k == "CLOUDFLARE_ACCOUNT_ID", k == "CLOUDFLARE_BASE_URL", k == "TF_CLI_ARGS", strings.HasPrefix(k, "TF_CLI_ARGS_"):
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	return &tf{t: t, bin: bin, dir: dir, env: env, emu: emu, url: url, tok: tok, acct: emulator.DefaultAccountID}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// requiredProviders maps the local name to the dev_overrides source.
const requiredProviders = "terraform {\n  required_providers {\n    cfegress = { source = \"cfegress/cfegress\" }\n  }\n}\n\n"

// providerBlock is the provider configuration for the emulator.
func (w *tf) providerBlock() string { return w.providerBlockWith(w.tok, w.url, "") }

// providerBlockWith is a provider configuration with the given token ("":
// none in the block), base URL and extra attributes.
func (w *tf) providerBlockWith(token, url, extra string) string {
	var b strings.Builder
	b.WriteString(requiredProviders)
	b.WriteString("provider \"cfegress\" {\n")
	if token != "" {
		fmt.Fprintf(&b, "  api_token           = %q\n", token)
	}
	// requests_per_5_minutes: the emulator has no rate limit here, and a
	// 1,000-policy apply needs more than the default budget of 600; and
	// max_policies: the scale tests' 1,000 policies are past Cloudflare's
	// default limit of 500 (an Enterprise account's raised limit).
	fmt.Fprintf(&b, "  account_id          = %q\n  base_url            = %q\n  requests_per_second = 1000\n  requests_per_5_minutes = 100000\n  max_policies = 5000\n%s}\n\n", w.acct, url, extra)
	return b.String()
}

// write replaces main.tf.
func (w *tf) write(body string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "main.tf"), []byte(body), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// result of one terraform command.
type result struct {
	args           []string
	stdout, stderr string
	code           int
	took           time.Duration
	// cpu is the user+system CPU time of terraform and the provider it ran
	// (the provider is reaped by terraform, so its usage is included).
	cpu time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("terraform %s: exit %d after %v\n--- stdout\n%s\n--- stderr\n%s", strings.Join(r.args, " "), r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// cmd prepares a terraform command in its own process group (so that the
// provider it starts can be killed with it).
func (w *tf) cmd(ctx context.Context, extraEnv []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	c := exec.CommandContext(ctx, w.bin, args...)
	c.Dir = w.dir
	c.Env = append(append([]string(nil), w.env...), extraEnv...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	return c, &so, &se
}

// run runs terraform with args (plus -no-color) and returns what happened.
func (w *tf) run(extraEnv []string, args ...string) result {
	w.t.Helper()
	args = append(args, "-no-color")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, so, se := w.cmd(ctx, extraEnv, args...)
	start := time.Now()
	err := c.Run()
	r := result{args: args, stdout: so.String(), stderr: se.String(), took: time.Since(start)}
	if ps := c.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		w.t.Fatalf("running terraform %v: %v", args, err)
	}
	return r
}

func (w *tf) apply(extraEnv ...string) result {
	return w.run(extraEnv, "apply", "-auto-approve", "-input=false")
}

func (w *tf) plan() result {
	return w.run(nil, "plan", "-detailed-exitcode", "-input=false")
}

// mustApply applies and fails the test unless terraform succeeds.
func (w *tf) mustApply() result {
	w.t.Helper()
	r := w.apply()
	if r.code != 0 {
		w.t.Fatalf("apply failed:\n%s", r)
	}
	return r
}

// planExit runs plan -detailed-exitcode and returns 0 (no changes), 2
// (changes); anything else fails the test.
func (w *tf) planExit() int {
	w.t.Helper()
	r := w.plan()
	if r.code != 0 && r.code != 2 {
		w.t.Fatalf("plan failed:\n%s", r)
	}
	return r.code
}

// writes counts the emulator's write requests so far.
func writes(emu *emulator.Emulator) int {
	n := 0
	for route, c := range emu.Stats().ByRoute {
		if !strings.HasPrefix(route, "GET ") {
			n += c
		}
	}
	return n
}
