package server

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mailproof/mailproof/handlers"
)

// postLoginPath is the receiver's route; newEcho leaves its body limit to the handler.
const postLoginPath = handlers.PostLoginPath

// routes is every route of both listeners in one place.
func routes(mainE, opsE *echo.Echo, d routeDeps) {
	mainE.POST(postLoginPath, handlers.PostLogin(handlers.PostLoginConfig{
		BodyLimit:    d.cfg.BodyLimit,
		ReplayTTL:    2*d.cfg.Tolerance + time.Minute,
		RedisTimeout: d.cfg.RedisTimeout,
	}, d.verifier, d.ingester, d.metrics, d.log))

	// The admin API: every route behind the bearer token, all answering 404 without one.
	adminAuth := handlers.AdminAuth(d.cfg.AdminToken)
	mainE.POST("/v1/pending", handlers.RegisterPending(handlers.RegisterConfig{}, d.users, d.budget, d.pending, d.log), adminAuth)
	mainE.GET("/v1/pending", handlers.ListPending(d.pending), adminAuth)
	mainE.GET("/v1/pending/:user_id", handlers.GetPending(d.pending), adminAuth)
	mainE.DELETE("/v1/pending/:user_id", handlers.DeletePending(d.pending, d.log), adminAuth)
	mainE.POST("/v1/users", handlers.ProvisionUser(d.provisioner, d.answers, d.log), adminAuth)
	mainE.POST("/v1/users/:user_id/resend", handlers.ResendUser(d.provisioner, d.log), adminAuth)

	opsE.GET("/", handlers.Status(d.status, 2*time.Second, d.checks...))
	opsE.GET("/healthz", handlers.Healthz())
	opsE.GET("/readyz", handlers.Readyz(2*time.Second, d.checks...))
	opsE.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{
		Registry:          d.reg,
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
	})))
}
