package peers

import (
	"strconv"
)

// Payload returns n bytes of compressible, JSON-like text: a stream of
// small records that differ only in their counters, as a chat or telemetry
// feed would send. Every library is given the same bytes.
func Payload(n int) []byte {
	out := make([]byte, 0, n+128)
	for i := 0; len(out) < n; i++ {
		out = append(out, `{"id":`...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, `,"user":"user-`...)
		out = strconv.AppendInt(out, int64(i%97), 10)
		out = append(out, `","event":"update","active":true,"score":`...)
		out = strconv.AppendInt(out, int64(i*37%1000), 10)
		out = append(out, `,"tags":["alpha","beta"]},`...)
	}
	return out[:n]
}
