package payments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how old a webhook's signature may be.
const Tolerance = 300 * time.Second

// Why a signature was refused; each is a label of the rejected counter.
const (
	rejectMissing   = "missing"
	rejectMalformed = "malformed"
	rejectStale     = "stale"
	rejectSignature = "signature"
)

// verify checks a Stripe-Signature header against payload as Stripe signs
// it: "t=<unix>,v1=<hex>[,v1=<hex>…]", each v1 the hex HMAC-SHA256 of
// "<t>.<payload>" keyed by an endpoint secret (whsec_… as written). Any
// configured secret and any v1 may match (a rotation sends two); a
// signature older than Tolerance is refused, one from the future is not
// (Stripe's own rule). It returns "" when the header is good, else why not.
func verify(header string, payload []byte, secrets []string, now time.Time) string {
	if header == "" {
		return rejectMissing
	}
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return rejectMalformed
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return rejectMalformed
			}
			ts = n
		case "v1":
			if b, err := hex.DecodeString(v); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return rejectMalformed
	}
	if now.Sub(time.Unix(ts, 0)) > Tolerance {
		return rejectStale
	}
	for _, secret := range secrets {
		want := sign(secret, ts, payload)
		for _, got := range sigs {
			if hmac.Equal(want, got) {
				return ""
			}
		}
	}
	return rejectSignature
}

// sign is the v1 signature of payload at t with secret.
func sign(secret string, t int64, payload []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10)))
	m.Write([]byte{'.'})
	m.Write(payload)
	return m.Sum(nil)
}

// SignatureHeader is the Stripe-Signature header Stripe would send for
// payload at t, one v1 per secret (a rotation signs with both). Tests and
// the stand-in Stripe use it.
func SignatureHeader(payload []byte, t time.Time, secrets ...string) string {
	var b strings.Builder
	b.WriteString("t=" + strconv.FormatInt(t.Unix(), 10))
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(sign(s, t.Unix(), payload)))
	}
	return b.String()
}
