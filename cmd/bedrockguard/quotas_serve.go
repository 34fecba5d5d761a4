package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/bedrockguard/bedrockguard/quotas/quotastest"
)

// serveFakeQuotas serves the quotastest fake of Service Quotas, with its
// sample us-east-1 quotas, at addr until ctx ends. The fake checks that
// requests are signed, not by whom: any static credentials do.
func serveFakeQuotas(ctx context.Context, addr string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: -serve %s: %v", errUsage, addr, err)
	}
	srv := &http.Server{Handler: quotastest.Handler(quotastest.Sample()), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "fake Service Quotas (sample us-east-1 quotas) at %s until interrupted; try:\n", url)
	fmt.Fprintf(stdout, "  AWS_ACCESS_KEY_ID=fake AWS_SECRET_ACCESS_KEY=fake bedrockguard quotas -region us-east-1 -endpoint %s\n", url)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
