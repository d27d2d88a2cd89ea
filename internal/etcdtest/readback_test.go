package etcdtest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// readBack reads every worker's keys of dataPrefix back through rekey, all
// at once (after an idle gap, so the token is gone and one login serves
// them all), and the keys of limitedPrefix as root, since the app may no
// longer read them; then it compares them with the acknowledged writes.
func (r *runner) readBack(ctx context.Context, t *testing.T) {
	t.Helper()
	got := make([]map[string]string, r.sc.workers)
	errs := make([]error, r.sc.workers)
	var wg sync.WaitGroup
	for w := range r.sc.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.sent.Add(1)
			prefix := fmt.Sprintf("%sw%02d/", dataPrefix, w)
			req, err := r.client.NewRequest(ctx, http.MethodPost, "/v3/kv/range", rangeRequest{[]byte(prefix), prefixEnd(prefix)})
			if err != nil {
				errs[w] = err
				return
			}
			var resp rangeResponse
			if _, err := r.client.Do(req, &resp); err != nil {
				errs[w] = err
				return
			}
			got[w] = kvMap(resp)
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			r.checkSecrets(err)
			r.fail(err)
			t.Errorf("reading back worker %d's writes: %v", w, err)
		}
	}
	var limited rangeResponse
	if err := r.admin.call(ctx, "/v3/kv/range", rangeRequest{[]byte(limitedPrefix), prefixEnd(limitedPrefix)}, &limited); err != nil {
		t.Fatalf("reading back %s as root: %v", limitedPrefix, err)
	}
	gotLimited := kvMap(limited)
	for w := range r.sc.workers {
		r.compare(r.ackData[w], got[w])
	}
	all := map[string]string{}
	for w := range r.sc.workers {
		for k, v := range r.ackLimit[w] {
			all[k] = v
		}
	}
	r.compare(all, gotLimited)
}

func kvMap(resp rangeResponse) map[string]string {
	m := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m
}

// compare counts acknowledged writes missing from got (or with another
// value) and writes in got that were never acknowledged.
func (r *runner) compare(acked, got map[string]string) {
	r.out.acked += len(acked)
	for k, v := range acked {
		if got[k] != v {
			r.out.lost++
		}
	}
	for k := range got {
		if _, ok := acked[k]; !ok {
			r.out.phantom++
		}
	}
}
