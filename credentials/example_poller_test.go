package credentials_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rekeyhq/rekey/credentials"
)

// configService stands for a source of keys that can change on its own,
// such as a configuration service or a secret store after a rotation.
type configService struct {
	mu  sync.Mutex
	key string
}

func (s *configService) set(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// Retrieve reads the key.
func (s *configService) Retrieve(ctx context.Context) (credentials.Credential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return credentials.Credential{Key: s.key}, nil
}

// PollInterval says how often a Cache asks Poll while the key is in use.
func (s *configService) PollInterval() time.Duration { return 10 * time.Millisecond }

// Poll reports the current key, and whether it differs from the Cache's.
// A real source would compare a version number or an ETag.
func (s *configService) Poll(ctx context.Context, current credentials.Credential) (credentials.Credential, bool, error) {
	cred, err := s.Retrieve(ctx)
	return cred, err == nil && cred.Key != current.Key, err
}

// A source that implements Poller has its new key picked up while the old
// one is still accepted, so that a planned rotation costs no rejected
// request. The Cache polls from Retrieve, in the background, at most once
// per PollInterval: an idle Cache costs nothing.
func ExamplePoller() {
	src := &configService{key: "sk_live_rotation0000000000001"}
	changed := make(chan struct{}, 1)
	cache := &credentials.Cache{
		Provider: src,
		OnRefresh: func(ev credentials.RefreshEvent) {
			if ev.Reason == credentials.ReasonChanged && ev.Phase == credentials.RefreshSucceeded {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		},
	}
	defer cache.Close()
	ctx := context.Background()
	cred, _ := cache.Retrieve(ctx)
	fmt.Println("in use:", cred)

	src.set("sk_live_rotation0000000000002") // the operator rotates the key
	deadline := time.After(10 * time.Second)
	for waiting := true; waiting; { // requests keep coming
		cache.Retrieve(ctx)
		select {
		case <-changed:
			waiting = false
		case <-deadline:
			fmt.Println("not picked up")
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	cred, _ = cache.Retrieve(ctx)
	fmt.Println("in use:", cred)
	// Output:
	// in use: Credential{Key: sk_live_…0001}
	// in use: Credential{Key: sk_live_…0002}
}
