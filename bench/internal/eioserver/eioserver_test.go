package eioserver

import "testing"

func TestParseBroadcast(t *testing.T) {
	for _, tc := range []struct {
		in string
		k  int
		ok bool
	}{
		{"bcast:20:xyz", 20, true},
		{"bcast:1:", 1, true},
		{"bcast:10000:a", 10000, true},
		{"bcast:10001:a", 0, false},
		{"bcast:0:a", 0, false},
		{"bcast:-3:a", 0, false},
		{"bcast:20", 0, false},
		{"bcast::a", 0, false},
		{`{"id":0,"user":"user-0"}`, 0, false},
		{"", 0, false},
	} {
		k, ok := ParseBroadcast([]byte(tc.in))
		if k != tc.k || ok != tc.ok {
			t.Errorf("ParseBroadcast(%q) = %d, %v; want %d, %v", tc.in, k, ok, tc.k, tc.ok)
		}
	}
}
