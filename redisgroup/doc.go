// Package redisgroup is a muster group whose state lives in Redis.
package redisgroup
