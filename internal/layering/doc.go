// Package layering holds the test that checks the module's import graph
// against the layer table in DESIGN.md. It has no code of its own.
package layering
