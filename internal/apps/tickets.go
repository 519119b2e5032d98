package apps

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/internal/kv"
	"github.com/gpuaas/gpuaas/internal/secrets"
)

// TicketTTL is how long a ticket URL can be redeemed.
const TicketTTL = 60 * time.Second

// CookieTTL is how long an app's cookie signs its browser in.
const CookieTTL = 12 * time.Hour

// CookieName is the app cookie's name; each app's has its own path.
const CookieName = "gpuaas_app"

const (
	ticketPrefix = "gpa_"
	ticketKey    = "appticket:"
	cookieAAD    = "gpuaas app cookie"
)

// ErrTicket: the ticket is unknown, expired or already spent.
var ErrTicket = errors.New("app ticket is invalid, expired or already used")

// Grant is who may reach which app.
type Grant struct {
	UserID       uuid.UUID `json:"u"`
	AllocationID uuid.UUID `json:"a"`
	Port         string    `json:"p"`
	// Expires is a Unix time (the cookie's; unused in tickets).
	Expires int64 `json:"e,omitempty"`
}

// Path is the grant's app path, with its trailing slash.
func (g Grant) Path() string {
	return "/apps/" + g.AllocationID.String() + "/" + g.Port + "/"
}

// Tickets mints and redeems tickets and seals cookies.
type Tickets struct {
	hot kv.Store
	key []byte // the master key
	now func() time.Time
}

// NewTickets keeps tickets in hot and seals cookies with key.
func NewTickets(hot kv.Store, key []byte) *Tickets {
	return &Tickets{hot: hot, key: key, now: time.Now}
}

func ticketHash(t string) string {
	sum := sha256.Sum256([]byte(t))
	return ticketKey + hex.EncodeToString(sum[:])
}

// Mint stores a ticket for g and returns it with its expiry.
func (t *Tickets) Mint(ctx context.Context, g Grant) (string, time.Time, error) {
	ticket := secrets.Token(ticketPrefix)
	val, err := json.Marshal(g)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := t.hot.SetValue(ctx, ticketHash(ticket), string(val), TicketTTL); err != nil {
		return "", time.Time{}, fmt.Errorf("store app ticket: %w", err)
	}
	return ticket, t.now().Add(TicketTTL).UTC(), nil
}

// Redeem spends ticket and returns its grant; of concurrent redeemers
// exactly one succeeds.
func (t *Tickets) Redeem(ctx context.Context, ticket string) (Grant, error) {
	if !strings.HasPrefix(ticket, ticketPrefix) || len(ticket) > 128 {
		return Grant{}, ErrTicket
	}
	raw, ok, err := t.hot.GetDel(ctx, ticketHash(ticket))
	if err != nil {
		return Grant{}, fmt.Errorf("redeem app ticket: %w", err)
	}
	var g Grant
	if !ok || json.Unmarshal([]byte(raw), &g) != nil {
		return Grant{}, ErrTicket
	}
	return g, nil
}

// Cookie seals g, valid for CookieTTL, as a cookie value.
func (t *Tickets) Cookie(g Grant) (string, time.Time, error) {
	exp := t.now().Add(CookieTTL)
	g.Expires = exp.Unix()
	plain, err := json.Marshal(g)
	if err != nil {
		return "", time.Time{}, err
	}
	sealed, err := secrets.Seal(t.key, plain, []byte(cookieAAD))
	if err != nil {
		return "", time.Time{}, err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), exp, nil
}

// OpenCookie returns the grant a cookie value carries, if it is ours and
// unexpired.
func (t *Tickets) OpenCookie(v string) (Grant, bool) {
	if len(v) > 1024 {
		return Grant{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return Grant{}, false
	}
	plain, err := secrets.Open(t.key, sealed, []byte(cookieAAD))
	if err != nil {
		return Grant{}, false
	}
	var g Grant
	if json.Unmarshal(plain, &g) != nil || t.now().Unix() >= g.Expires {
		return Grant{}, false
	}
	return g, true
}
