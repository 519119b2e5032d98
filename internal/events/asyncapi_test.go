package events_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/internal/events"
)

// The contract test: api/asyncapi.yaml and package events describe the same
// events, so neither can change without the other.

type asyncDoc struct {
	Channels map[string]struct {
		Subscribe struct {
			Message struct {
				Ref string `yaml:"$ref"`
			} `yaml:"message"`
		} `yaml:"subscribe"`
	} `yaml:"channels"`
	Components struct {
		Schemas map[string]schemaDoc `yaml:"schemas"`
	} `yaml:"components"`
}

type schemaDoc struct {
	Type                 string               `yaml:"type"`
	Format               string               `yaml:"format"`
	Required             []string             `yaml:"required"`
	AdditionalProperties *bool                `yaml:"additionalProperties"`
	Properties           map[string]schemaDoc `yaml:"properties"`
}

func loadDoc(t *testing.T) asyncDoc {
	t.Helper()
	var d asyncDoc
	if err := yaml.Unmarshal(api.AsyncAPI, &d); err != nil {
		t.Fatalf("parse asyncapi.yaml: %v", err)
	}
	return d
}

func TestAsyncAPIChannelsAreEventTypes(t *testing.T) {
	d := loadDoc(t)
	var channels, want []string
	for ch := range d.Channels {
		if strings.HasPrefix(ch, events.DefaultNaming.Namespace+".events.") {
			channels = append(channels, ch)
		}
	}
	for _, typ := range events.Types {
		want = append(want, events.DefaultNaming.Subject(typ))
	}
	slices.Sort(channels)
	slices.Sort(want)
	if !slices.Equal(channels, want) {
		t.Fatalf("asyncapi.yaml channels\n  %v\nevents.Types subjects\n  %v", channels, want)
	}
}

// TestAsyncAPISchemasMatchStructs compares each payload struct's JSON
// fields, types and optionality with its schema.
func TestAsyncAPISchemasMatchStructs(t *testing.T) {
	d := loadDoc(t)
	for name, v := range map[string]any{"Envelope": events.Envelope{}, "Allocation": events.Allocation{}, "Balance": events.Balance{}, "Node": events.Node{}, "GPU": events.GPU{}, "SSHKeys": events.SSHKeys{}, "Payment": events.Payment{}} {
		s, ok := d.Components.Schemas[name]
		if !ok {
			t.Errorf("asyncapi.yaml has no schema %s", name)
			continue
		}
		if s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("%s: additionalProperties must be false: the struct is closed", name)
		}
		var required []string
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			f := rt.Field(i)
			jname, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !strings.Contains(opts, "omitempty") {
				required = append(required, jname)
			}
			p, ok := s.Properties[jname]
			if !ok {
				t.Errorf("%s.%s (json %q) is not in the schema", name, f.Name, jname)
				continue
			}
			if typ, format := jsonType(t, f.Type); p.Type != typ || (format != "" && p.Format != format) {
				t.Errorf("%s.%s: schema says %s/%s, Go encodes %s/%s", name, jname, p.Type, p.Format, typ, format)
			}
		}
		if len(s.Properties) != rt.NumField() {
			t.Errorf("%s: schema has %d properties, struct %d fields", name, len(s.Properties), rt.NumField())
		}
		slices.Sort(required)
		got := slices.Sorted(slices.Values(s.Required))
		if !slices.Equal(got, required) {
			t.Errorf("%s: schema requires %v, struct always encodes %v", name, got, required)
		}
	}
}

// jsonType is how encoding/json writes a Go type, in schema terms.
func jsonType(t *testing.T, rt reflect.Type) (typ, format string) {
	if rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	switch rt {
	case reflect.TypeFor[uuid.UUID]():
		return "string", "uuid"
	case reflect.TypeFor[time.Time]():
		return "string", "date-time"
	case reflect.TypeFor[json.RawMessage]():
		return "object", ""
	}
	switch rt.Kind() {
	case reflect.String:
		return "string", ""
	case reflect.Int64:
		return "integer", "int64"
	case reflect.Int:
		return "integer", ""
	case reflect.Bool:
		return "boolean", ""
	}
	t.Fatalf("jsonType: teach the contract test about %s", rt)
	return "", ""
}

// TestAsyncAPIValidatesGoPayloads encodes events the way events.Enqueue
// does and validates them against each channel's message schema.
func TestAsyncAPIValidatesGoPayloads(t *testing.T) {
	d := loadDoc(t)
	c := compiler(t)
	node, runway := uuid.New(), int64(1800)
	now := time.Now().UTC()
	full := map[string]any{
		"allocation": events.Allocation{AllocationID: uuid.New(), UserID: uuid.New(), SKUID: "h100-1x", NodeID: &node,
			Status: "failed", From: "provisioning", Reason: "runtime error", At: now},
		"billing": events.Balance{UserID: uuid.New(), BalanceMinor: -12, Currency: "USD", RunwaySeconds: &runway, At: now},
		"node":    events.Node{NodeID: uuid.New(), Hostname: "gpu-1", Reason: "missed heartbeat deadline", At: now},
		"gpu": events.GPU{NodeID: uuid.New(), GPUUUID: "GPU-1", Index: 3, Reason: "Xid 79", AllocationID: uuid.New(),
			UserID: uuid.New(), At: now},
		"ssh_keys": events.SSHKeys{UserID: uuid.New(), At: now},
		"payment": events.Payment{UserID: uuid.New(), PaymentID: uuid.New(), AmountMinor: 5000, Currency: "USD",
			BalanceMinor: &runway, Reason: "card declined", At: now},
	}
	bare := map[string]any{
		"allocation": events.Allocation{AllocationID: uuid.New(), UserID: uuid.New(), SKUID: "h100-1x", Status: "requested", At: now},
		"billing":    events.Balance{UserID: uuid.New(), Currency: "USD", At: now},
		"node":       events.Node{NodeID: uuid.New(), At: now},
		"gpu":        events.GPU{NodeID: uuid.New(), AllocationID: uuid.New(), UserID: uuid.New(), At: now},
		"ssh_keys":   events.SSHKeys{UserID: uuid.New(), At: now},
		"payment":    events.Payment{UserID: uuid.New(), PaymentID: uuid.New(), Currency: "USD", At: now},
	}
	for _, typ := range events.Types {
		ref := d.Channels[events.DefaultNaming.Subject(typ)].Subscribe.Message.Ref
		if ref == "" {
			t.Errorf("%s: channel has no message", typ)
			continue
		}
		payload := compile(t, c, ref+"/payload")
		headers := compile(t, c, ref+"/headers")
		domain, _, _ := strings.Cut(typ, ".")
		for _, data := range []any{full[domain], bare[domain]} {
			id := uuid.Must(uuid.NewV7())
			env := envelope(t, id, typ, data)
			if err := payload.Validate(env); err != nil {
				t.Errorf("%s: %s does not match its schema: %v", typ, jsonOf(t, env), err)
			}
			if err := headers.Validate(map[string]any{"Nats-Msg-Id": id.String()}); err != nil {
				t.Errorf("%s headers: %v", typ, err)
			}
		}
		// The schema must also refuse what the code never sends.
		other := full["allocation"]
		if domain == "allocation" {
			other = full["billing"]
		}
		if err := payload.Validate(envelope(t, uuid.New(), typ, other)); err == nil {
			t.Errorf("%s: schema accepts the other domain's payload", typ)
		}
		badID := envelope(t, uuid.New(), typ, full[domain])
		badID.(map[string]any)["id"] = "not-a-uuid"
		if err := payload.Validate(badID); err == nil {
			t.Errorf("%s: schema accepts an id that is not a uuid", typ)
		}
		wrongType := envelope(t, uuid.New(), typ, full[domain])
		wrongType.(map[string]any)["type"] = "allocation.nope"
		if err := payload.Validate(wrongType); err == nil {
			t.Errorf("%s: schema accepts another type in the envelope", typ)
		}
	}
}

func compiler(t *testing.T) *jsonschema.Compiler {
	t.Helper()
	var doc any
	if err := yaml.Unmarshal(api.AsyncAPI, &doc); err != nil {
		t.Fatal(err)
	}
	// Round-trip through JSON so numbers have the types the validator expects.
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7) // AsyncAPI 2.x schemas are a superset of draft 7
	c.AssertFormat()
	if err := c.AddResource("asyncapi.json", inst); err != nil {
		t.Fatalf("load asyncapi.yaml: %v", err)
	}
	return c
}

func compile(t *testing.T, c *jsonschema.Compiler, ref string) *jsonschema.Schema {
	t.Helper()
	s, err := c.Compile("asyncapi.json" + ref)
	if err != nil {
		t.Fatalf("compile %s: %v", ref, err)
	}
	return s
}

func envelope(t *testing.T, id uuid.UUID, typ string, data any) any {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(events.Envelope{ID: id, Type: typ, OccurredAt: time.Now().UTC(), Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
