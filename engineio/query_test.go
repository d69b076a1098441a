package engineio

import (
	"net/url"
	"strings"
	"testing"
)

func TestQueryGet(t *testing.T) {
	for _, raw := range []string{
		"EIO=4&transport=polling&sid=abc",
		"transport=web%73ocket&EIO=4",
		"sid=a+b&sid=second",
		"t=x&&EIO=&transport",
		"%zz=1&transport=polling",
		"tr%61nsport=polling",
		"",
	} {
		want, _ := url.ParseQuery(raw)
		for _, k := range []string{"EIO", "transport", "sid", "t"} {
			if got := queryGet(raw, k); got != want.Get(k) {
				t.Errorf("%q %s: %q, want %q", raw, k, got, want.Get(k))
			}
		}
	}
}

// FuzzQueryGet checks queryGet against url.ParseQuery.
func FuzzQueryGet(f *testing.F) {
	for _, s := range []string{"EIO=4&transport=polling&sid=abc", "a=%41&a=2", "x+y=1&%", "sid=&sid=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Contains(raw, ";") {
			return // net/url refuses semicolons; Engine.IO clients never send them
		}
		want, _ := url.ParseQuery(raw)
		for _, k := range []string{"EIO", "transport", "sid", "x y", "a"} {
			if got := queryGet(raw, k); got != want.Get(k) {
				t.Fatalf("%q %s: %q, want %q", raw, k, got, want.Get(k))
			}
		}
	})
}
