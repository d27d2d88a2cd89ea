package redisstore

// RedisAddrForExamples returns the address of the Redis that TestMain found
// (REKEY_REDIS_ADDR) or started, for the examples in package
// redisstore_test, which run against it. It is "" when there is none: the
// examples that need Redis then fail, as CI installs redis-server.
func RedisAddrForExamples() string { return redisAddr }
