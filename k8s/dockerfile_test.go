package k8s_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction.
type instruction struct {
	cmd   string            // upper case: FROM, RUN, COPY, …
	flags map[string]string // --from=…, --chown=…
	args  []string
	line  string // after the instruction word, continuation lines joined
}

// stage is one FROM … [AS name] of the Dockerfile.
type stage struct {
	name, from string
	instrs     []instruction
}

// workdir is the stage's last WORKDIR ("/" when none).
func (s stage) workdir() string {
	dir := "/"
	for _, in := range s.instrs {
		if in.cmd == "WORKDIR" {
			dir = path.Join(dir, in.args[0])
		}
	}
	return dir
}

// runs lists the shell commands of the stage's RUN lines, split at &&.
func (s stage) runs() []command {
	var cs []command
	for _, in := range s.instrs {
		if in.cmd == "RUN" {
			for _, part := range strings.Split(in.line, "&&") {
				cs = append(cs, parseCommand(part))
			}
		}
	}
	return cs
}

func mustReadDockerfile(t *testing.T) []stage {
	t.Helper()
	lines := mustReadRootLines(t, "Dockerfile")
	var stages []stage
	var logical []string
	cur := ""
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		logical = append(logical, cur+trimmed)
		cur = ""
	}
	for _, l := range logical {
		word, rest, _ := strings.Cut(l, " ")
		in := instruction{cmd: strings.ToUpper(word), flags: map[string]string{}, line: strings.TrimSpace(rest)}
		fields := strings.Fields(rest)
		if strings.HasPrefix(in.line, "[") {
			if err := json.Unmarshal([]byte(in.line), &in.args); err != nil {
				t.Fatalf("Dockerfile: %s %s: %v", in.cmd, in.line, err)
			}
		} else {
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") {
				k, v, _ := strings.Cut(strings.TrimPrefix(fields[0], "--"), "=")
				in.flags[k] = v
				fields = fields[1:]
			}
			in.args = fields
		}
		if in.cmd == "FROM" {
			s := stage{from: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before FROM", in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	return stages
}

// stageRunning finds the stage with a RUN command starting with argv prefix.
func stageRunning(t *testing.T, stages []stage, prefix ...string) (stage, command) {
	t.Helper()
	for _, s := range stages {
		for _, c := range s.runs() {
			if len(c.argv) >= len(prefix) && slicesEqual(c.argv[:len(prefix)], prefix) {
				return s, c
			}
		}
	}
	t.Fatalf("Dockerfile: no stage runs %q", strings.Join(prefix, " "))
	return stage{}, command{}
}

// TestDockerfileBuildsLikeMakeBuild: the image's binary is built by the
// Makefile's own commands: its go build line (but for where -o writes) and
// its npm lines for the UI, in the folder the Makefile runs them in.
func TestDockerfileBuildsLikeMakeBuild(t *testing.T) {
	stages := mustReadDockerfile(t)
	mk, err := readMakefile()
	if err != nil {
		t.Fatal(err)
	}
	makeGo, err := mk.recipeCommand("build", "go", "build")
	if err != nil {
		t.Fatal(err)
	}
	goStage, dockerGo := stageRunning(t, stages, "go", "build")
	if got, want := dockerGo.withOutput("OUT").String(), makeGo.withOutput("OUT").String(); got != want {
		t.Errorf("Dockerfile builds with\n\t%s\nbut make build with\n\t%s", dockerGo, makeGo)
	}
	// The UI: every npm command of `make web` and its prerequisites, run
	// in the same folder (the recipe's `cd`).
	for _, target := range []string{"web/node_modules/.package-lock.json", "web"} {
		dir := ""
		for _, line := range mk.recipes[target] {
			for _, part := range strings.Split(mk.expand(line), "&&") {
				c := parseCommand(part)
				if len(c.argv) == 2 && c.argv[0] == "cd" {
					dir = c.argv[1]
					continue
				}
				s, _ := stageRunning(t, stages, c.argv...)
				if !strings.HasSuffix(s.workdir(), "/"+dir) {
					t.Errorf("Dockerfile runs %q in %s; make runs it in %s", c, s.workdir(), dir)
				}
			}
		}
	}
	// The last stage runs that binary, as a numeric non-root user.
	final := stages[len(stages)-1]
	var entry []string
	copied := ""
	uid := -1
	for _, in := range final.instrs {
		switch in.cmd {
		case "COPY":
			if in.flags["from"] == goStage.name && len(in.args) == 2 && in.args[0] == dockerGo.output() {
				copied = in.args[1]
			}
		case "ENTRYPOINT":
			entry = in.args
		case "USER":
			user, _, _ := strings.Cut(in.args[0], ":")
			if n, err := strconv.Atoi(user); err == nil {
				uid = n
			}
		}
	}
	if copied == "" || len(entry) == 0 || entry[0] != copied {
		t.Errorf("the final stage must COPY --from=%s %s and run it as ENTRYPOINT (copied to %q, ENTRYPOINT %q)", goStage.name, dockerGo.output(), copied, entry)
	}
	if uid <= 0 {
		t.Errorf("the final stage needs a numeric non-root USER (runAsNonRoot can only check a number)")
	}
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("the final stage is FROM %s; want distroless static or scratch", final.from)
	}
}

// dockerIgnore reads the root .dockerignore.
func dockerIgnore(t *testing.T) []string {
	t.Helper()
	lines := mustReadRootLines(t, ".dockerignore")
	var patterns []string
	for _, line := range lines {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, strings.TrimPrefix(path.Clean(line), "/"))
		}
	}
	return patterns
}

// ignored says whether .dockerignore keeps file (slash path from the root)
// out of the build context: a pattern matches it or a folder above it;
// "**/" matches at any depth. (The file has no "!" exceptions.)
func ignored(patterns []string, file string) bool {
	parts := strings.Split(file, "/")
	for _, p := range patterns {
		for end := 1; end <= len(parts); end++ {
			prefix := strings.Join(parts[:end], "/")
			if ok, _ := path.Match(p, prefix); ok {
				return true
			}
			if rest, any := strings.CutPrefix(p, "**/"); any {
				for start := 0; start < end; start++ {
					if ok, _ := path.Match(rest, strings.Join(parts[start:end], "/")); ok {
						return true
					}
				}
			}
		}
	}
	return false
}

// TestDockerContextHasTheSources: every Go file the binary is built from,
// and the UI's sources, reach the build stage (COPY) and the build context
// (.dockerignore); the embedded UI comes from the stage that builds it.
func TestDockerContextHasTheSources(t *testing.T) {
	stages := mustReadDockerfile(t)
	patterns := dockerIgnore(t)
	goStage, _ := stageRunning(t, stages, "go", "build")
	webStage, _ := stageRunning(t, stages, "npm", "run", "build")
	var local, fromWeb []string // paths as they stand under the go stage's WORKDIR
	for _, in := range goStage.instrs {
		if in.cmd != "COPY" || len(in.args) < 2 {
			continue
		}
		dest := strings.TrimPrefix(path.Clean(in.args[len(in.args)-1]), "./")
		switch in.flags["from"] {
		case "":
			for _, src := range in.args[:len(in.args)-1] {
				if src = strings.TrimPrefix(path.Clean(src), "./"); src != dest && len(in.args) == 2 && !strings.HasSuffix(in.args[1], "/") {
					t.Errorf("COPY %s %s: keep the source path so the module builds as in the repository", src, in.args[1])
				}
			}
			local = append(local, in.args[:len(in.args)-1]...)
		case webStage.name:
			fromWeb = append(fromWeb, dest)
		}
	}
	covered := func(file string, roots []string) bool {
		return slices.ContainsFunc(roots, func(r string) bool {
			r = strings.TrimPrefix(path.Clean(r), "./")
			return file == r || strings.HasPrefix(file, r+"/")
		})
	}
	list := exec.Command("go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{.Dir}}|{{join .GoFiles ","}}|{{join .EmbedFiles ","}}{{end}}`, "./cmd/chatroom")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, rest, _ := strings.Cut(line, "|")
		goFiles, embeds, _ := strings.Cut(rest, "|")
		rel, err := filepath.Rel(abs, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Split(goFiles, ",") {
			files = append(files, path.Join(filepath.ToSlash(rel), f))
		}
		for _, e := range strings.Split(embeds, ",") {
			if e == "" {
				continue
			}
			// An embedded file comes from the context, or from the UI stage.
			if f := path.Join(filepath.ToSlash(rel), e); !covered(f, fromWeb) {
				files = append(files, f)
			}
		}
	}
	for _, f := range files {
		if !covered(f, local) {
			t.Errorf("%s is part of the binary but no COPY of the %s stage brings it", f, goStage.name)
		}
		if ignored(patterns, f) {
			t.Errorf("%s is part of the binary but .dockerignore leaves it out", f)
		}
	}
	// The UI stage copies web/ whole; only its dependencies, its build
	// output and its browser tests may stay out of the context.
	err = filepath.WalkDir(filepath.Join(root, "web"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && (rel == "web/node_modules" || rel == "web/dist" || rel == "web/e2e") {
			return filepath.SkipDir
		}
		if !d.IsDir() && ignored(patterns, rel) {
			t.Errorf("%s is a source of the UI but .dockerignore leaves it out", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImageFitsThePods: the pods run the image's user and port.
func TestImageFitsThePods(t *testing.T) {
	stages := mustReadDockerfile(t)
	final := stages[len(stages)-1]
	uid, expose := int64(-1), ""
	for _, in := range final.instrs {
		switch in.cmd {
		case "USER":
			user, _, _ := strings.Cut(in.args[0], ":")
			uid, _ = strconv.ParseInt(user, 10, 64)
		case "EXPOSE":
			expose = strings.TrimSuffix(in.args[0], "/tcp")
		}
	}
	f := mustFacts(t)
	if _, port, _ := strings.Cut(f.flags["web"]["addr"].def, ":"); expose != port {
		t.Errorf("the image EXPOSEs %q; the binary listens on %q by default", expose, f.flags["web"]["addr"].def)
	}
	r := mustRender(t, "base")
	for _, d := range r.deployments {
		sc := d.Spec.Template.Spec.SecurityContext
		if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != uid {
			t.Errorf("Deployment %s runs as %v; the image's USER is %d", d.Name, sc, uid)
		}
	}
}
