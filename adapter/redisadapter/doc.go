// Package redisadapter joins Socket.IO servers through Redis.
package redisadapter
