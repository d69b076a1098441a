// Package layering checks the module's import graph against the layer table
// of DESIGN.md. A new import edge between the module's packages must be
// added to the policy below, so that it shows up in review.
package layering

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/wsio/wsio"

// policy maps a package (relative to the module; a trailing "/..." covers a
// subtree) to the module packages it may import. Standard-library imports
// are always allowed; imports from other modules are checked separately.
var policy = map[string][]string{
	"internal/...":        {},
	"websocket":           {"internal/bufpool"},
	"eioparser":           {"internal/..."},
	"engineio":            {"eioparser", "websocket", "internal/..."},
	"eioclient":           {"eioparser", "websocket", "internal/..."},
	"sioparser":           {"internal/..."},
	"adapter":             {"sioparser", "internal/..."},
	"adapter/adaptertest": {"adapter", "sioparser", "internal/..."},
	"socketio":            {"engineio", "eioparser", "sioparser", "adapter", "internal/..."},
	"sioclient":           {"eioclient", "eioparser", "sioparser", "internal/..."},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
	Module     *struct{ Path string }
}

func TestImportPolicy(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		allowed, ok := lookup(rel)
		if !ok {
			t.Errorf("package %q is not in the layering policy: add it (and to DESIGN.md)", rel)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					t.Errorf("%s imports %s: the core module depends on the standard library only", rel, imp)
				}
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if !permits(allowed, dep) {
				t.Errorf("%s imports %s, which the layering policy does not allow", rel, dep)
			}
		}
	}
	if seen < 3 {
		t.Fatalf("go list found only %d packages", seen)
	}
}

func lookup(rel string) ([]string, bool) {
	if a, ok := policy[rel]; ok {
		return a, true
	}
	for k, a := range policy {
		if prefix, ok := strings.CutSuffix(k, "/..."); ok && (rel == prefix || strings.HasPrefix(rel, prefix+"/")) {
			return a, true
		}
	}
	return nil, false
}

func permits(allowed []string, dep string) bool {
	if slices.Contains(allowed, "...") || slices.Contains(allowed, dep) {
		return true
	}
	for _, a := range allowed {
		if prefix, ok := strings.CutSuffix(a, "/..."); ok && strings.HasPrefix(dep, prefix+"/") {
			return true
		}
	}
	return false
}

func TestPolicyRejectsUpwardEdge(t *testing.T) {
	a, _ := lookup("websocket")
	if permits(a, "engineio") {
		t.Fatal("websocket may not import engineio")
	}
	a, _ = lookup("socketio")
	if permits(a, "sioclient") {
		t.Fatal("the server stack may not import the client stack")
	}
	if _, ok := lookup("internal/bufpool"); !ok {
		t.Fatal("internal packages are covered by internal/...")
	}
}
