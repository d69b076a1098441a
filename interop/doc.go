// Package interop tests the websocket package against the official npm
// package ws, in both directions. It has no code of its own: see
// websocket_test.go and README.md.
package interop
