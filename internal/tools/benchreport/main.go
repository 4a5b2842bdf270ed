// Command benchreport runs the project's benchmarks and rewrites
// BENCHMARKS.md with the results and the command that produced them
// (`make bench`).
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "BENCHMARKS.md", "file to write")
	benchtime := flag.String("benchtime", "1s", "go test -benchtime")
	pkgs := flag.String("pkgs", "./internal/...", "packages to benchmark")
	flag.Parse()

	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", *benchtime, "-cpu", "1"}
	args = append(args, strings.Fields(*pkgs)...)
	cmdline := "go " + strings.Join(args, " ")
	fmt.Fprintln(os.Stderr, "benchreport:", cmdline)

	cmd := exec.Command("go", args...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if _, werr := os.Stdout.Write(buf.Bytes()); werr != nil {
		fmt.Fprintln(os.Stderr, "benchreport: writing the benchmark output:", werr)
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport: benchmarks failed:", err)
		os.Exit(1)
	}

	var md strings.Builder
	fmt.Fprintf(&md, "# Benchmarks\n\nProduced by `make bench` (`%s`) on %s, %s/%s, %d cores, %s.\n",
		cmdline, time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	md.WriteString("Each benchmark runs on one core (`-cpu 1`). Custom metrics (decisions/s, API calls, writes,\n")
	md.WriteString("decided fraction) are reported by the benchmarks themselves with `b.ReportMetric`.\n")
	pkg := ""
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
			fmt.Fprintf(&md, "\n## %s\n\n| benchmark | iterations | results |\n|---|---|---|\n", strings.TrimPrefix(pkg, "github.com/cfegress/terraform-provider-cfegress/"))
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			var res []string
			for i := 2; i+1 < len(f); i += 2 {
				res = append(res, f[i]+" "+f[i+1])
			}
			fmt.Fprintf(&md, "| %s | %s | %s |\n", f[0], f[1], strings.Join(res, ", "))
		}
	}
	if err := os.WriteFile(*out, []byte(md.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "benchreport: wrote", *out)
}
