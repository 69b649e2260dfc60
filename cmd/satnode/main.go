// Command satnode is the satnode node and its tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRootCmd().ExecuteContext(ctx)
	if err == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "satnode: interrupted; the store is flushed and the next run resumes")
		os.Exit(130)
	}
	fmt.Fprintln(os.Stderr, "satnode:", err)
	os.Exit(1)
}
