package server

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// redisLogger routes go-redis's internal messages (pool dial failures and the like) to
// zap at debug level: mailproof's own logs already say "Redis unavailable" once, with
// what to do, instead of once per pooled connection.
type redisLogger struct{ log *zap.Logger }

// Printf implements go-redis's internal.Logging.
func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...))
}
