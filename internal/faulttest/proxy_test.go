package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// toxic is one Toxiproxy toxic, as its HTTP API takes it
// (https://github.com/Shopify/toxiproxy#toxics).
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`   // latency, reset_peer, timeout, slicer, limit_data, bandwidth
	Stream     string         `json:"stream"` // upstream (towards the API) or downstream (towards rekey)
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]int `json:"attributes"`
}

// faultProxy is a Toxiproxy proxy run in-process in front of an upstream
// server on loopback.
type faultProxy struct {
	p   *toxiproxy.Proxy
	URL string // http://127.0.0.1:port: the upstream's URL, through the proxy
}

// newFaultProxy starts a Toxiproxy proxy on a free loopback port in front of
// upstream (an http:// URL), stopped when t ends. Toxiproxy runs in this
// process, through its own server API: no binary, no port for its HTTP API.
func newFaultProxy(t testing.TB, name, upstream string) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", u.Host)
	if err := srv.Collection.Add(p, true); err != nil {
		t.Fatalf("starting the %s proxy: %v", name, err)
	}
	// Stop closes the listener and every connection, which ends every link
	// goroutine of the proxy.
	t.Cleanup(func() { srv.Collection.Clear() })
	return &faultProxy{p: p, URL: "http://" + p.Listen}
}

// set turns toxics on; connections opened afterwards, and those open, get
// each (with probability Toxicity).
func (f *faultProxy) set(t testing.TB, toxics []toxic) {
	t.Helper()
	if err := f.reroll(toxics); err != nil {
		t.Fatal(err)
	}
}

// reroll takes toxics off if they are on, and puts them on again, so that
// every open connection draws again whether each hits it. It may be called
// from any goroutine.
func (f *faultProxy) reroll(toxics []toxic) error {
	for _, tx := range toxics {
		if f.p.Toxics.GetToxic(tx.Name) != nil {
			if err := f.p.Toxics.RemoveToxic(context.Background(), tx.Name); err != nil {
				return fmt.Errorf("removing toxic %s: %w", tx.Name, err)
			}
		}
		b, err := json.Marshal(tx)
		if err != nil {
			return err
		}
		if _, err := f.p.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
			return fmt.Errorf("adding toxic %s: %w", tx.Name, err)
		}
	}
	return nil
}

// clear takes every toxic off.
func (f *faultProxy) clear() { f.p.Toxics.ResetToxics(context.Background()) }
