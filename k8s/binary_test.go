package k8s_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// root is the repository root; tests run in k8s/.
const root = ".."

// command is a shell command line of a recipe: VAR=value assignments, then argv.
type command struct {
	env  []string
	argv []string
}

// String gives the command line back.
func (c command) String() string {
	return strings.Join(append(append([]string{}, c.env...), c.argv...), " ")
}

// withOutput returns the command with the value of its -o flag replaced.
func (c command) withOutput(out string) command {
	argv := append([]string{}, c.argv...)
	for i := range argv {
		if argv[i] == "-o" && i+1 < len(argv) {
			argv[i+1] = out
		}
	}
	return command{env: c.env, argv: argv}
}

// output is the value of the command's -o flag.
func (c command) output() string {
	for i, a := range c.argv {
		if a == "-o" && i+1 < len(c.argv) {
			return c.argv[i+1]
		}
	}
	return ""
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// parseCommand splits a command line (no quoting in these recipes) into
// leading assignments and argv.
func parseCommand(line string) command {
	var c command
	for _, f := range strings.Fields(line) {
		if len(c.argv) == 0 && assignment.MatchString(f) {
			c.env = append(c.env, f)
		} else {
			c.argv = append(c.argv, f)
		}
	}
	return c
}

var (
	makeVar    = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\s*[?:]?=\s*(.*)$`)
	makeTarget = regexp.MustCompile(`^([A-Za-z0-9_./-]+)\s*:([^=]|$)`)
	makeRef    = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
)

// makefile is the root Makefile: its variables and each target's recipe.
type makefile struct {
	vars    map[string]string
	recipes map[string][]string
}

// readRootLines reads a file of the repository root as lines.
func readRootLines(name string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(root, name))
	return strings.Split(string(data), "\n"), err
}

// mustReadRootLines is readRootLines for a test.
func mustReadRootLines(t *testing.T, name string) []string {
	t.Helper()
	lines, err := readRootLines(name)
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func readMakefile() (makefile, error) {
	lines, err := readRootLines("Makefile")
	if err != nil {
		return makefile{}, err
	}
	m := makefile{vars: map[string]string{}, recipes: map[string][]string{}}
	target := ""
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "\t"):
			if target != "" {
				m.recipes[target] = append(m.recipes[target], strings.TrimSpace(line))
			}
		case makeVar.MatchString(line) && !strings.HasPrefix(line, "\t"):
			g := makeVar.FindStringSubmatch(line)
			m.vars[g[1]] = strings.TrimSpace(g[2])
			target = ""
		case makeTarget.MatchString(line):
			target = makeTarget.FindStringSubmatch(line)[1]
		default:
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
				target = ""
			}
		}
	}
	return m, nil
}

// expand replaces $(VAR) by the Makefile's value of VAR.
func (m makefile) expand(s string) string {
	return makeRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := m.vars[makeRef.FindStringSubmatch(ref)[1]]; ok {
			return v
		}
		return ref
	})
}

// recipeCommand finds the line of target's recipe whose argv starts with prefix.
func (m makefile) recipeCommand(target string, prefix ...string) (command, error) {
	for _, line := range m.recipes[target] {
		c := parseCommand(m.expand(line))
		if len(c.argv) >= len(prefix) && slicesEqual(c.argv[:len(prefix)], prefix) {
			return c, nil
		}
	}
	return command{}, fmt.Errorf("Makefile: no %q line in the recipe of %q: %q", strings.Join(prefix, " "), target, m.recipes[target])
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

// mustBuild builds bin/chatroom exactly as `make build` does (its go build
// line, read from the Makefile), into a temporary folder, once per run.
func mustBuild(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var buildBinary = sync.OnceValues(func() (string, error) {
	mk, err := readMakefile()
	if err != nil {
		return "", err
	}
	c, err := mk.recipeCommand("build", "go", "build")
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "chatroom-k8s-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "chatroom")
	c = c.withOutput(bin)
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), c.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", c, err, out)
	}
	return bin, nil
})

// flagInfo is one flag as `chatroom <command> -h` lists it.
type flagInfo struct {
	name string // without dashes
	env  string // its CHATROOM_* variable
	def  string // its default as printed, unquoted; "" when none is printed
	bool bool   // a bool flag: may stand alone
}

// binaryFacts is what the built binary says about itself.
type binaryFacts struct {
	bin      string
	commands []string                       // from its usage text, each checked to answer -h
	flags    map[string]map[string]flagInfo // command → flag name → flag
	env      map[string]map[string]flagInfo // command → variable → flag
}

// mustFacts builds the binary and asks it for its commands, flags and
// environment variables: nothing here is a copy of cmd/chatroom.
func mustFacts(t *testing.T) *binaryFacts {
	t.Helper()
	f, err := readFacts()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var readFacts = sync.OnceValues(func() (*binaryFacts, error) {
	bin, err := buildBinary()
	if err != nil {
		return nil, err
	}
	return askBinary(bin)
})

var (
	usageCommand = regexp.MustCompile(`(?m)^\s+chatroom ([a-z]+(?:\|[a-z]+)*)(?:\s|$)`)
	flagLine     = regexp.MustCompile(`^  -([a-z0-9][a-z0-9-]*)(?:\s+(\S.*))?$`)
	envInUsage   = regexp.MustCompile(`\[(CHATROOM_[A-Z0-9_]+)\]`)
	defInUsage   = regexp.MustCompile(`\(default ("(?:[^"\\]|\\.)*"|[^)]*)\)`)
)

func askBinary(bin string) (*binaryFacts, error) {
	usage, code := runBinary(bin, nil, "--help")
	if code != 0 {
		return nil, fmt.Errorf("chatroom --help: exit %d\n%s", code, usage)
	}
	f := &binaryFacts{bin: bin, flags: map[string]map[string]flagInfo{}, env: map[string]map[string]flagInfo{}}
	for _, m := range usageCommand.FindAllStringSubmatch(usage, -1) {
		f.commands = append(f.commands, strings.Split(m[1], "|")...)
	}
	if len(f.commands) == 0 {
		return nil, fmt.Errorf("chatroom --help lists no command:\n%s", usage)
	}
	// A command that does not exist must not answer -h like one that does.
	if out, code := runBinary(bin, nil, "no-such-command", "-h"); code == 0 || !strings.Contains(out, "unknown command") {
		return nil, fmt.Errorf("chatroom no-such-command -h: exit %d, want an unknown-command error\n%s", code, out)
	}
	for _, c := range f.commands {
		out, code := runBinary(bin, nil, c, "-h")
		if code != 0 {
			return nil, fmt.Errorf("chatroom %s -h: exit %d\n%s", c, code, out)
		}
		flags, err := parseFlagHelp(out)
		if err != nil {
			return nil, fmt.Errorf("chatroom %s -h: %w", c, err)
		}
		f.flags[c], f.env[c] = flags, map[string]flagInfo{}
		for _, fl := range flags {
			f.env[c][fl.env] = fl
		}
	}
	return f, nil
}

// parseFlagHelp reads Go's flag.PrintDefaults output; every flag must name
// its environment variable.
func parseFlagHelp(out string) (map[string]flagInfo, error) {
	flags := map[string]flagInfo{}
	var cur *flagInfo
	var usage []string
	finish := func() error {
		if cur == nil {
			return nil
		}
		text := strings.Join(usage, " ")
		env := envInUsage.FindAllStringSubmatch(text, -1)
		if len(env) != 1 {
			return fmt.Errorf("flag -%s names %d CHATROOM_* variables in its help, want 1: %q", cur.name, len(env), text)
		}
		cur.env = env[0][1]
		if d := defInUsage.FindStringSubmatch(text); d != nil {
			cur.def = d[1]
			if u, err := strconv.Unquote(d[1]); err == nil {
				cur.def = u
			}
		}
		flags[cur.name] = *cur
		cur, usage = nil, nil
		return nil
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := flagLine.FindStringSubmatch(line); m != nil {
			if err := finish(); err != nil {
				return nil, err
			}
			cur = &flagInfo{name: m[1], bool: m[2] == ""}
			continue
		}
		if cur != nil && strings.HasPrefix(line, "    \t") {
			usage = append(usage, strings.TrimSpace(line))
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("no flags in the help:\n%s", out)
	}
	return flags, nil
}

// runBinary runs the binary to its end with exactly env as its environment
// and returns its combined output and exit code.
func runBinary(bin string, env []string, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{}, env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		return fmt.Sprintf("%s\n%v", out, err), -1
	}
	return string(out), 0
}

// TestMakeBuildIsStatic checks that the binary `make build` makes (and so
// the image's, see TestDockerfileBuildsLikeMakeBuild) is static: no ELF
// interpreter, no shared libraries, built with CGO_ENABLED=0 and -trimpath.
func TestMakeBuildIsStatic(t *testing.T) {
	bin := mustBuild(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it needs a dynamic loader", bin)
		}
		if p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a PT_DYNAMIC segment: it is dynamically linked", bin)
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v)", bin, libs, err)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" {
		t.Errorf("build setting CGO_ENABLED=%q, want 0", settings["CGO_ENABLED"])
	}
	if settings["-trimpath"] != "true" {
		t.Errorf("build setting -trimpath=%q, want true", settings["-trimpath"])
	}
	if info.Path != "github.com/webchatroom/chatroom/cmd/chatroom" {
		t.Errorf("main package %q, want github.com/webchatroom/chatroom/cmd/chatroom", info.Path)
	}
}

// TestBinaryFacts checks what the other tests rely on: the binary lists its
// commands, each answers -h, and every flag has a CHATROOM_* variable.
func TestBinaryFacts(t *testing.T) {
	f := mustFacts(t)
	for _, want := range []string{"all", "web"} {
		if _, ok := f.flags[want]; !ok {
			t.Errorf("chatroom --help does not list %q (commands %v)", want, f.commands)
		}
	}
	for c, flags := range f.flags {
		if _, ok := flags["addr"]; !ok {
			t.Errorf("chatroom %s has no --addr flag", c)
		}
		for _, fl := range flags {
			if want := "CHATROOM_" + strings.ToUpper(strings.ReplaceAll(fl.name, "-", "_")); fl.env != want {
				t.Errorf("chatroom %s: -%s reads %s, want %s", c, fl.name, fl.env, want)
			}
		}
	}
	if testing.Verbose() {
		var b bytes.Buffer
		for _, c := range f.commands {
			fmt.Fprintf(&b, "%s: %d flags; ", c, len(f.flags[c]))
		}
		t.Log(b.String())
	}
}
