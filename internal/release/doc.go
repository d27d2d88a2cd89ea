// Command release checks, publishes locally and versions rekey's modules,
// the way a module proxy and a user's go command will see them.
//
// rekey is one repository with several modules: the core
// (github.com/rekeyhq/rekey) and nested modules (otelrekey,
// credentials/awssm, ...), each with its own go.mod. Their versions move
// together: every nested module requires the core at the version being
// released, and each is tagged at the same commit (vX.Y.Z for the core,
// <dir>/vX.Y.Z for a nested module). go.work joins them for development;
// each nested go.mod also replaces the core with its directory, which only
// matters when that module is built on its own (dependents ignore replace).
//
// Usage, from anywhere in the repository:
//
//	go run ./internal/release check            # module files, versions, CHANGELOG agree
//	go run ./internal/release proxy -dir D     # a file-system module proxy of every library module
//	go run ./internal/release bump vX.Y.Z      # requirements and CHANGELOG for a release; prints the tags
//	go run ./internal/release modules          # the library modules, one "dir path" per line
//
// RELEASING.md at the repository's root is the whole procedure;
// scripts/install-test and scripts/release drive this command.
package main
