// Package etcdtest holds rekey's test against a real token-auth server: etcd
// 3.4 with authentication on, spoken to over its HTTP/JSON gateway
// (/v3/auth/authenticate, /v3/kv/put, /v3/kv/range, ...) through an
// unmodified rekey.Client. It has no code of its own outside its tests and
// needs nothing but the standard library and rekey.
//
// The client sends etcd's bare token in Authorization
// (rekey.WithScheme(transport.NoScheme)); its credentials provider
// authenticates with a password read from a file, so a refresh is "log in
// again with whatever password the file holds now". The test runs load from
// several goroutines through idle gaps longer than --auth-token-ttl (etcd
// drops an unused token: 401 "invalid auth token"), three password rotations
// (the file is rewritten and the password changed through the API: every
// token of the user is dropped, and requests in flight at that moment get
// 400 "revision of auth store is old"), and a permission revoked mid-run (403
// "permission denied", which must pass through without a refresh).
//
// The tests start their own etcd from the binary named by REKEY_ETCD_BIN, or
// "etcd" on PATH (Debian's etcd-server package installs /usr/bin/etcd), on
// free loopback ports, and stop it when they end. Without a binary they skip,
// unless CI is set to a true value or REKEY_ETCD_BIN is set: then they fail.
package etcdtest
