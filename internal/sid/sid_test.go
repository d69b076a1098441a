package sid

import (
	"regexp"
	"testing"
)

func TestNew(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("id %q (repeat %v)", id, seen[id])
		}
		seen[id] = true
	}
}
