package config

// DefaultWebsocketMaxTotal is --websocket-max-total when it is 0: half the
// open-file limit, so the cap answers 503 long before descriptors run out
// (the other half is for the database pool, NATS, Redis, plain HTTP
// requests and the relayed second socket of a terminal), and at least 16.
// Without a known limit it is 4096.
func DefaultWebsocketMaxTotal(fileLimit uint64, known bool) int {
	if !known {
		return 4096
	}
	n := fileLimit / 2
	if n > 1<<24 {
		n = 1 << 24
	}
	if n < 16 {
		n = 16
	}
	return int(n)
}
