package store

import (
	"embed"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts live in lua/ so they read as Lua, with their KEYS and ARGV
// documented at the top of each file.
//
//go:embed lua/*.lua
var luaFiles embed.FS

// scripts are the store's Lua scripts. Each is run with EVALSHA, falling
// back to EVAL (which caches it again) after a Redis restart or SCRIPT FLUSH.
type scripts struct {
	put, ingest, claim, finish, retry, moveDue, deadLetter, replay, pause, drop, undo, del, delivery, note, sweep, tidy, unindex *redis.Script
}

func newScripts() scripts {
	prelude := lua("audit")
	withAudit := func(name string) *redis.Script {
		return redis.NewScript(prelude + "\n" + lua(name))
	}
	// Scripts that check or change a record read all of its layouts
	// through lua/record.lua.
	withRecord := func(name string) *redis.Script {
		return redis.NewScript(prelude + "\n" + lua("record") + "\n" + lua(name))
	}
	plain := func(name string) *redis.Script {
		return redis.NewScript(lua(name))
	}
	return scripts{
		put:        withRecord("put"),
		ingest:     withRecord("ingest"),
		claim:      withRecord("claim"),
		finish:     withRecord("finish"),
		retry:      withAudit("retry"),
		moveDue:    plain("movedue"),
		deadLetter: withRecord("deadletter"),
		replay:     withAudit("replay"),
		pause:      plain("pause"),
		drop:       plain("drop"),
		undo:       withAudit("undo"),
		del:        plain("del"),
		tidy:       withRecord("tidy"),
		unindex:    withRecord("unindex"),
		delivery:   withRecord("delivery"),
		note:       withAudit("note"),
		sweep:      plain("sweep"),
	}
}

// all lists every script, for loading them at once.
func (s scripts) all() []*redis.Script {
	return []*redis.Script{s.put, s.ingest, s.claim, s.finish, s.retry, s.moveDue, s.deadLetter, s.replay, s.pause, s.drop, s.undo, s.del, s.delivery, s.note, s.sweep, s.tidy, s.unindex}
}

// lua returns an embedded script; a missing file is a build mistake caught
// by every test, so it panics rather than returning an error.
func lua(name string) string {
	b, err := luaFiles.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic("store: missing embedded script " + name)
	}
	return string(b)
}
