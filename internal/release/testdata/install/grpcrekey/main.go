// grpcrekey's README wiring, built against the published modules.
package main

import (
	"log"

	"google.golang.org/grpc"
	grpccreds "google.golang.org/grpc/credentials"

	"github.com/rekeyhq/rekey/credentials"
	"github.com/rekeyhq/rekey/grpcrekey"
)

func main() {
	rk, err := grpcrekey.New(credentials.Static("rk_live_installTest0000000001"),
		grpcrekey.WithMetadataKey("x-goog-api-key"))
	if err != nil {
		log.Fatal(err)
	}
	defer rk.Close()
	conn, err := grpc.NewClient("api.example.com:443",
		append(rk.DialOptions(), grpc.WithTransportCredentials(grpccreds.NewTLS(nil)))...)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	log.Print("grpcrekey: connection ready")
}
