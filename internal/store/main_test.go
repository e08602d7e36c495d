package store

import (
	"os"
	"testing"

	"go.uber.org/zap"
)

func TestMain(m *testing.M) {
	SetRedisLogger(zap.NewNop()) // the pool's dial failures are expected here
	os.Exit(m.Run())
}
