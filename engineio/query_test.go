package engineio

import (
	"net/url"
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
