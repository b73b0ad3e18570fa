package store_test

import (
	"errors"
	"testing"

	"github.com/mailproof/mailproof/store"
)

func TestRememberAnswer(t *testing.T) { conform(t, testRememberAnswer) }

func testRememberAnswer(t *testing.T, b backend) {
	r := b.open(t)
	if _, err := r.RememberedAnswer(timeout(t), "key-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("before: %v, want ErrNotFound", err)
	}
	first := store.Answer{Fingerprint: "fp1", Status: 201, Body: []byte(`{"id":"1"}`)}
	second := store.Answer{Fingerprint: "fp2", Status: 409, Body: []byte(`{}`)}
	for _, a := range []store.Answer{first, second} {
		if err := r.RememberAnswer(timeout(t), "key-1", a); err != nil {
			t.Fatalf("remember %+v: %v", a, err)
		}
	}
	got, err := r.RememberedAnswer(timeout(t), "key-1")
	if err != nil || got.Fingerprint != first.Fingerprint || got.Status != first.Status || string(got.Body) != string(first.Body) {
		t.Errorf("remembered %+v (%v), want the first answer %+v", got, err, first)
	}
	ttl, err := r.Client().PTTL(timeout(t), "mp:{mp}:idem:a2V5LTE").Result()
	if err != nil || ttl <= 0 || ttl > store.IdempotencyTTL {
		t.Errorf("ttl %v (%v), want in (0, %v]", ttl, err, store.IdempotencyTTL)
	}
}
