package sioserver

import "testing"

func TestBurst(t *testing.T) {
	for _, tc := range []struct {
		in any
		k  int
		ok bool
	}{
		{float64(10), 10, true},
		{float64(1), 1, true},
		{float64(MaxBurst), MaxBurst, true},
		{float64(MaxBurst + 1), 0, false},
		{float64(0), 0, false},
		{1.5, 0, false},
		{"10", 0, false},
		{nil, 0, false},
	} {
		if k, ok := Burst(tc.in); k != tc.k || ok != tc.ok {
			t.Errorf("Burst(%v) = %d, %v; want %d, %v", tc.in, k, ok, tc.k, tc.ok)
		}
	}
}
