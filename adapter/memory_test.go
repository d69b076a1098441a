package adapter_test

import (
	"testing"
	"time"

	"github.com/wsio/wsio/adapter"
	"github.com/wsio/wsio/adapter/adaptertest"
)

func TestMemory(t *testing.T) {
	adaptertest.Run(t, adaptertest.Config{
		NewCluster: func(t *testing.T, n int) []adapter.Factory {
			return []adapter.Factory{adapter.NewMemory(adapter.MemoryOptions{MaxDisconnectionDuration: time.Minute})}
		},
		Servers:  1,
		Recovery: true,
	})
}

func TestMemoryRecoveryExpires(t *testing.T) {
	h := adaptertest.NewHost(t, "/", adapter.NewMemory(adapter.MemoryOptions{MaxDisconnectionDuration: 20 * time.Millisecond}))
	ad := h.Adapter()
	h.Add("a")
	p := must(t)
	_ = ad.Broadcast(p, adapter.BroadcastOptions{})
	ad.PersistSession(adapter.SessionToPersist{SID: "a", PID: "pid"})
	time.Sleep(40 * time.Millisecond)
	if s, _ := ad.RestoreSession(t.Context(), "pid", "x"); s != nil {
		t.Error("expired session restored")
	}
}

func TestAppendOffset(t *testing.T) {
	for in, want := range map[string]string{
		`["a"]`:       `["a","o"]`,
		`["a",1] `:    `["a",1,"o"]`,
		`[]`:          `["o"]`,
		`[ ]`:         `[ "o"]`,
		`["a",[1,2]]`: `["a",[1,2],"o"]`,
	} {
		if got := string(adapter.AppendOffset([]byte(in), "o")); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
