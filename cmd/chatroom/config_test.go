package main

import (
	"testing"
	"time"
)

func TestConfigFlagsAndEnv(t *testing.T) {
	t.Setenv("CHATROOM_ADDR", ":9999")
	t.Setenv("CHATROOM_NATS_URL", "nats://env:4222")
	t.Setenv("CHATROOM_PUBLIC_ORIGIN", "https://a.example, https://b.example")
	t.Setenv("CHATROOM_LIMIT_LOGIN_WINDOW", "5m")
	t.Setenv("CHATROOM_S3_TLS", "true")
	t.Setenv("CHATROOM_MEDIA_UNSENT_TTL", "2h")
	c, err := parseConfig("all", []string{"--nats-url", "nats://flag:4222", "--limit-login-failures", "9"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9999" || c.NATSURL != "nats://flag:4222" || !c.S3.TLS {
		t.Fatalf("env then flag precedence wrong: %+v", c)
	}
	if len(c.PublicOrigins) != 2 || c.PublicOrigins[1] != "https://b.example" {
		t.Fatalf("public origins %v", c.PublicOrigins)
	}
	if c.Auth.LoginWindow != 5*time.Minute || c.Auth.LoginFailures != 9 || c.Auth.PasswordMin != 8 {
		t.Fatalf("limits %+v", c.Auth)
	}
	if c.Media.UnsentTTL != 2*time.Hour || c.Media.VoiceMS != 60_000 {
		t.Fatalf("media limits %+v", c.Media)
	}
	t.Setenv("CHATROOM_LIMIT_LOGIN_WINDOW", "soon")
	if _, err := parseConfig("all", nil); err == nil {
		t.Fatal("a bad duration in the environment was accepted")
	}
	if _, err := parseConfig("all", []string{"stray"}); err == nil {
		t.Fatal("a stray argument was accepted")
	}
}

func TestConfigBoolFlagStandsAlone(t *testing.T) {
	c, err := parseConfig("all", []string{"--s3-tls", "--addr", ":1"})
	if err != nil || !c.S3.TLS || c.Addr != ":1" {
		t.Fatalf("--s3-tls alone: %+v %v", c.S3, err)
	}
	if _, err := parseConfig("all", []string{"--limit-login-failures", "many"}); err == nil {
		t.Fatal("a bad number was accepted")
	}
}

func TestConfigMediaUnsentTTL(t *testing.T) {
	c, err := parseConfig("media", nil)
	if err != nil || c.Media.UnsentTTL != 24*time.Hour {
		t.Fatalf("default: %v %v, want 24h", c.Media.UnsentTTL, err)
	}
	c, err = parseConfig("media", []string{"--media-unsent-ttl", "0"})
	if err != nil || c.Media.UnsentTTL != 0 {
		t.Fatalf("--media-unsent-ttl 0: %v %v, want 0 (keep forever)", c.Media.UnsentTTL, err)
	}
}

func TestConfigChatDrain(t *testing.T) {
	for cmd, want := range map[string]time.Duration{"chat": 5 * time.Second, "all": 0} {
		c, err := parseConfig(cmd, nil)
		if err != nil || c.Chat.Drain != want {
			t.Fatalf("%s: drain %v %v, want %v (a lone `all` has no other gateway to move clients to)", cmd, c.Chat.Drain, err, want)
		}
	}
	t.Setenv("CHATROOM_CHAT_DRAIN", "2s")
	if c, err := parseConfig("chat", nil); err != nil || c.Chat.Drain != 2*time.Second {
		t.Fatalf("CHATROOM_CHAT_DRAIN=2s: %v %v", c.Chat.Drain, err)
	}
}
