package adapter

import (
	"slices"
	"testing"
)

func TestStrSet(t *testing.T) {
	var s strSet
	members := func() []string { return slices.Sorted(s.all()) }
	if s.len() != 0 || s.contains("a") || s.del("a") || len(members()) != 0 {
		t.Fatal("empty set")
	}
	if !s.add("a") || s.add("a") || !s.contains("a") || s.len() != 1 {
		t.Fatal("one member")
	}
	if !s.add("b") || !s.add("c") || s.add("b") || s.len() != 3 || !slices.Equal(members(), []string{"a", "b", "c"}) {
		t.Fatalf("three members: %v", members())
	}
	if !s.del("b") || s.del("b") || s.contains("b") || !slices.Equal(members(), []string{"a", "c"}) {
		t.Fatalf("after del: %v", members())
	}
	s.del("a")
	s.del("c")
	if s.len() != 0 || len(members()) != 0 || !s.add("d") || !slices.Equal(members(), []string{"d"}) {
		t.Fatalf("emptied and refilled: %v", members())
	}
	var none *strSet
	for range none.all() {
		t.Fatal("nil set has members")
	}
	// Stopping early.
	s.add("e")
	n := 0
	for range s.all() {
		n++
		break
	}
	if n != 1 {
		t.Fatal("break")
	}
}
