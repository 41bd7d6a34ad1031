// Package rdmasim holds the files the tools embed, so that they work from any
// directory: the built-in litmus suite. The code lives in the subpackages (see
// README.md).
package rdmasim

import "embed"

// LitmusSuite holds testdata/litmus/*.litmus, the built-in litmus suite that
// `rdmasim litmus` runs by default (see package litmus for the format).
//
//go:embed testdata/litmus/*.litmus
var LitmusSuite embed.FS
