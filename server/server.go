package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/net/netutil"
)

// Options are the pieces Run needs besides the configuration; everything a test wants to
// replace (clock, registry, logger) comes in here instead of from globals.
type Options struct {
	Config   Config
	Log      *zap.Logger
	Registry *prometheus.Registry
	Now      func() time.Time
	// OnListen, when set, is called once both listeners accept connections, with their
	// real addresses (useful with port 0).
	OnListen func(Addrs)
	// EmbeddedRedis is set by local mode when it runs its own in-memory Redis: its
	// settings are not checked (it neither evicts nor persists), and /readyz and the
	// status page warn that it keeps nothing across restarts.
	EmbeddedRedis bool
}

// Addrs are the addresses the listeners actually bound.
type Addrs struct {
	Main string
	Ops  string
	TLS  bool
}

// httpServer wraps an Echo instance with the timeouts a public listener needs: slow
// clients cannot hold connections open (Slowloris) and idle keep-alives are reaped.
func httpServer(e *echo.Echo, log *zap.Logger) *http.Server {
	errLog, _ := zap.NewStdLogAt(log.Named("http"), zap.WarnLevel)
	return &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          errLog,
	}
}

// listeners binds both addresses before anything is served, so a port clash is reported
// at start-up instead of after the worker has begun. The main listener holds at most
// MAILPROOF_MAX_CONNS connections, TLS or not (the cap counts TCP connections, before
// their handshake): beyond it, new ones wait in the kernel's accept queue until one
// closes, instead of each costing memory and a goroutine.
func listeners(cfg Config) (mainLn, opsLn net.Listener, err error) {
	mainLn, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on MAILPROOF_LISTEN %s: %w", cfg.Listen, err)
	}
	if cfg.MaxConns > 0 { // zero only in a Config that LoadConfig did not build
		mainLn = netutil.LimitListener(mainLn, cfg.MaxConns)
	}
	opsLn, err = net.Listen("tcp", cfg.OpsListen)
	if err != nil {
		mainLn.Close()
		return nil, nil, fmt.Errorf("listen on MAILPROOF_OPS_LISTEN %s: %w", cfg.OpsListen, err)
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			mainLn.Close()
			opsLn.Close()
			return nil, nil, fmt.Errorf("load TLS key pair: %w", err)
		}
		mainLn = tls.NewListener(mainLn, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return mainLn, opsLn, nil
}

// serveAll serves both listeners until ctx ends, then shuts the main listener down first
// (stop accepting, finish in-flight requests), stops the background loops through
// stopLoops, and closes the ops listener last so probes see the process until the end.
func serveAll(ctx context.Context, cfg Config, log *zap.Logger, mainE, opsE *echo.Echo, mainLn, opsLn net.Listener, stopLoops func(context.Context) error) error {
	mainSrv, opsSrv := httpServer(mainE, log), httpServer(opsE, log)
	// Idle keep-alives on the main listener hold slots under MAILPROOF_MAX_CONNS; the ops
	// listener is private and keeps the longer default for scrapers.
	if cfg.IdleTimeout > 0 {
		mainSrv.IdleTimeout = cfg.IdleTimeout
	}
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	for _, s := range []struct {
		srv *http.Server
		ln  net.Listener
	}{{mainSrv, mainLn}, {opsSrv, opsLn}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new requests, finishing in-flight work", zap.Duration("grace", cfg.ShutdownGrace))
	case runErr = <-errc:
		log.Error("listener failed; shutting down", zap.Error(runErr))
	}
	graceCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	var errs []error
	if err := mainSrv.Shutdown(graceCtx); err != nil {
		errs = append(errs, fmt.Errorf("main listener shutdown: %w", err))
	}
	if err := stopLoops(graceCtx); err != nil {
		errs = append(errs, err)
	}
	if err := opsSrv.Shutdown(graceCtx); err != nil {
		errs = append(errs, fmt.Errorf("ops listener shutdown: %w", err))
	}
	wg.Wait()
	if runErr != nil {
		errs = append([]error{runErr}, errs...)
	}
	return errors.Join(errs...)
}
