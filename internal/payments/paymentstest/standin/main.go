// Command standin serves the Stripe stand-in (package paymentstest) over
// HTTP for the console's browser journeys (scripts/web-e2e.sh): a hosted
// pay page that pays the session, delivers the signed webhook to
// --webhook-url and returns the browser to the session's success URL. It is
// test-only code, never part of gpuaas.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/gpuaas/gpuaas/internal/payments/paymentstest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	hook := flag.String("webhook-url", "", "where to deliver events (the server's /api/v1/payments/webhooks/stripe)")
	secretFile := flag.String("webhook-secret-file", "", "file with the webhook signing secrets, one a line")
	flag.Parse()
	raw, err := os.ReadFile(*secretFile)
	if err != nil {
		log.Fatalf("standin: --webhook-secret-file: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("standin: listen: %v", err)
	}
	s := paymentstest.New()
	s.Base = "http://" + ln.Addr().String()
	s.WebhookURL = *hook
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			s.Secrets = append(s.Secrets, line)
		}
	}
	fmt.Println(s.Base)
	log.Fatal(http.Serve(ln, s.Handler()))
}
