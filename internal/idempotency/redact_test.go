package idempotency_test

import (
	"encoding/json"
	"testing"

	"github.com/gpuaas/gpuaas/internal/idempotency"
)

// TestRedact: a stored response keeps no secret at any depth, whatever
// the case of its key, and a body without one is stored byte for byte.
func TestRedact(t *testing.T) {
	plain := []byte(`{"id":"a1","status":"requested","gpus":[{"index":0}]}`)
	if got := idempotency.Redact(plain); string(got) != string(plain) {
		t.Fatalf("a body without secrets changed: %s", got)
	}
	notJSON := []byte(`token=abc`)
	if got := idempotency.Redact(notJSON); string(got) != string(notJSON) {
		t.Fatalf("a body that is not JSON changed: %s", got)
	}
	got := idempotency.Redact([]byte(`{"name":"k","Access_Token":"t1","nested":[{"private_key":"pk","ok":1}],"db":{"PASSWORD":"p"}}`))
	var v struct {
		Name   string `json:"name"`
		Token  string `json:"Access_Token"`
		Nested []struct {
			Key string `json:"private_key"`
			OK  int    `json:"ok"`
		} `json:"nested"`
		DB struct {
			Password string `json:"PASSWORD"`
		} `json:"db"`
	}
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatal(err)
	}
	if v.Name != "k" || v.Token != "[redacted]" || v.Nested[0].Key != "[redacted]" || v.Nested[0].OK != 1 || v.DB.Password != "[redacted]" {
		t.Fatalf("redacted: %s", got)
	}
}
