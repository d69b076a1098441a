package adapter_test

import (
	"testing"

	"github.com/wsio/wsio/sioparser"
)

func must(t *testing.T) *sioparser.Packet {
	t.Helper()
	p, err := sioparser.NewEvent("/", "ev")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
