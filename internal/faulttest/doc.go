// Package faulttest puts a fault proxy that rekey's team did not write,
// Toxiproxy (github.com/Shopify/toxiproxy/v2), between rekey and the APIs it
// calls, and checks what a caller sees while the network misbehaves.
//
// It is a module of its own, for tests only: Toxiproxy and its dependencies
// stay out of the core module. The package has no API; its tests are the
// point. See docs/reliability.md for the faults, what each test asserts and
// the counts of a run.
package faulttest
