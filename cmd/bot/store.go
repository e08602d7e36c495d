package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/coldtransfer/coldtransfer/internal/config"
	"github.com/coldtransfer/coldtransfer/internal/store"
)

// openStore returns the state shared by the replicas: in memory
// without REDIS_URL; with it, Redis, falling back on memory while Redis
// does not answer (at start too: that is not fatal) and going back when it
// does, calling onFallback at each fall. closeStore stops the probe and the Redis client; call it after the bot
// has finished its in-flight requests, which still use the store.
func openStore(cfg config.Config, log *zap.Logger, onFallback func()) (st store.Store, closeStore func()) {
	mem := store.NewMemory(store.MemoryConfig{})
	if cfg.RedisURL == "" {
		log.Info("store: in memory (one replica; set REDIS_URL to run several)")
		return mem, func() {}
	}
	opt, err := store.ParseRedisURL(cfg.RedisURL)
	if err != nil { // config.Load has checked it
		log.Error("store: REDIS_URL not usable; running on memory", zap.String("reason", "go-redis refused the URL"))
		return mem, func() {}
	}
	store.SetRedisLogger(log.Named("redis"))
	redis := store.NewRedis(store.RedisConfig{Options: opt})
	fb := store.NewFallback(redis, mem, store.FallbackConfig{Log: log, OnFallback: onFallback})
	log.Info("store: Redis", zap.String("addr", redis.Addr()), zap.Int("db", opt.DB), zap.Bool("tls", opt.TLSConfig != nil))

	// The probe outlives the bot's context: the bot still uses the store
	// while it drains after a signal.
	probe, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fb.Run(probe)
	}()
	return fb, func() {
		stop()
		<-done
		_ = redis.Close()
	}
}
