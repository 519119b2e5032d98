package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Decode reads one JSON object from r's body into v, strictly: unknown
// fields, wrong types, several values and trailing garbage are 400
// invalid_request; a body over the limit set by LimitBody is 413. Every
// string in the body, keys included, must be valid UTF-8 without NUL or
// control characters other than tab, line feed and carriage return (see
// CheckText): encoding/json would quietly accept them and PostgreSQL would
// refuse them with a 500.
func Decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return apperr.Invalid("Content-Type must be application/json, got %q", ct)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		if e := tooLarge(err); e != nil {
			return e
		}
		return apperr.Invalid("read request body: %v", err)
	}
	return DecodeBytes(raw, v)
}

// DecodeBytes is Decode for a body already read.
func DecodeBytes(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// Exactly one value: anything but whitespace after it is garbage.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.Invalid("request body must hold a single JSON object")
	}
	return checkJSONText(raw, "a string in the request body", true)
}

// DecodeRaw is Decode that also returns the raw body, for routes that hash
// it (idempotency keys).
func DecodeRaw(r *http.Request, v any) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		if e := tooLarge(err); e != nil {
			return nil, e
		}
		return nil, apperr.Invalid("read request body: %v", err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return nil, apperr.Invalid("Content-Type must be application/json, got %q", ct)
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return raw, DecodeBytes(raw, v)
}

// DecodeOptional is Decode for routes whose body may be empty.
func DecodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Body == http.NoBody {
		return nil
	}
	err := Decode(r, v)
	if err != nil && errors.Is(err, errEmptyBody) {
		return nil
	}
	return err
}

var errEmptyBody = errors.New("empty body")

func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apperr.TooLarge(mbe.Limit)
	}
	return nil
}

func decodeError(err error) error {
	if e := tooLarge(err); e != nil {
		return e
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return apperr.Invalid("request body is empty").Wrap(errEmptyBody)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid("request body is truncated JSON")
	case errors.As(err, &syntax):
		return apperr.Invalid("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return apperr.Invalid("field %q must be %s, got %s", typ.Field, typ.Type, typ.Value)
		}
		return apperr.Invalid("request body must be a JSON object, got %s", typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return apperr.Invalid("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return apperr.Invalid("malformed JSON: %v", fmt.Sprint(err))
	}
}
