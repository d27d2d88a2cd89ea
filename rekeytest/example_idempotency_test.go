package rekeytest_test

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/rekeyhq/rekey/rekeytest"
)

// With WithIdempotency, a POST sent again with the same Idempotency-Key
// (a client retrying after a lost answer) gets the first answer and is not
// performed again.
func ExampleWithIdempotency() {
	srv := rekeytest.NewServer(rekeytest.WithIdempotency(true)) // in a test: t.Cleanup(srv.Close)
	defer srv.Close()
	key := srv.IssueKey().Key

	for range 2 {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/echo", strings.NewReader(`{"amount": 100}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set(rekeytest.IdempotencyKeyHeader, "order-42")
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, "replayed:", resp.Header.Get(rekeytest.IdempotentReplayedHeader) == "true")
	}
	fmt.Println("performed:", len(srv.Bodies()), "replays:", srv.Stats().IdempotentReplays)
	// Output:
	// 200 replayed: false
	// 200 replayed: true
	// performed: 1 replays: 1
}
