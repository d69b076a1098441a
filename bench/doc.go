// Package bench compares github.com/wsio/wsio/websocket with other Go
// WebSocket libraries. It has no code of its own besides benchmarks: see
// README.md, and cmd/wsbench, which runs everything and writes RESULTS.md.
package bench
