//go:build linux

package soak_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/gpuaas/gpuaas/api"
	"github.com/gpuaas/gpuaas/sdk"
)

// maxLivePerUser caps each user's unreleased allocations, so that the
// fleet (nodes × gpusPerNode GPUs) never runs out and creates keep
// succeeding: soakUsers × maxLivePerUser stays below the GPU count.
const maxLivePerUser = 3

// user is one signed-in account of the load. Its refresh token is
// single-use, so refreshes are serialised under mu.
type user struct {
	name   string
	anon   *sdk.Client
	client *sdk.Client

	mu       sync.Mutex
	tokens   sdk.Tokens
	issued   time.Time
	live     []uuid.UUID // created, not yet asked to release
	released []uuid.UUID // asked to release (the last few), for gets
	pending  int         // creates in flight
}

func newUser(ctx context.Context, base, name string) (*user, error) {
	u := &user{name: name, anon: sdk.New(base)}
	pair, err := u.anon.Login(ctx, name, userPassword)
	if err != nil {
		return nil, err
	}
	u.tokens, u.issued = sdk.NewTokens(pair, time.Now()), time.Now()
	u.client = sdk.New(base, sdk.WithTokenSource(sdk.TokenSourceFunc(u.token)))
	return u, nil
}

// token is the current access token; one past half its lifetime is renewed
// first, so that no request (nor a notification websocket, which the
// server closes when its token expires) runs on an expiring one.
func (u *user) token(ctx context.Context) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if time.Since(u.issued) > accessTTL/2 {
		if err := u.refreshLocked(ctx); err != nil {
			return "", err
		}
	}
	return u.tokens.AccessToken, nil
}

func (u *user) refreshLocked(ctx context.Context) error {
	pair, err := u.anon.Refresh(ctx, u.tokens.RefreshToken)
	if err != nil {
		return err
	}
	u.tokens, u.issued = sdk.NewTokens(pair, time.Now()), time.Now()
	return nil
}

// op is one kind of request the load makes, with its share of the mix.
type op struct {
	name   string
	weight int
	do     func(ctx context.Context, l *load, u *user) error
}

// mix is the load: user sessions, the allocation lifecycle, reads, the
// notification websocket and admin reads.
var mix = []op{
	{"login", 1, opLogin},
	{"login+logout", 1, opLoginLogout},
	{"refresh", 2, opRefresh},
	{"me", 1, func(ctx context.Context, _ *load, u *user) error { _, err := u.client.Me(ctx); return err }},
	{"create allocation", 4, opCreate},
	{"release allocation", 4, opRelease},
	{"list allocations", 3, func(ctx context.Context, _ *load, u *user) error {
		_, err := u.client.ListAllocations(ctx, api.ListAllocationsParams{PageSize: sdk.Ptr(20)})
		return err
	}},
	{"get allocation", 3, opGet},
	{"balance", 2, func(ctx context.Context, _ *load, u *user) error { _, err := u.client.Balance(ctx); return err }},
	{"usage", 2, func(ctx context.Context, _ *load, u *user) error {
		_, err := u.client.ListUsage(ctx, api.ListUsageParams{PageSize: sdk.Ptr(20)})
		return err
	}},
	{"list skus", 1, func(ctx context.Context, _ *load, u *user) error {
		_, err := u.client.ListSKUs(ctx, api.ListSkusParams{})
		return err
	}},
	{"notifications ws", 2, opNotifications},
	{"admin read", 3, opAdminRead},
}

func opLogin(ctx context.Context, _ *load, u *user) error {
	pair, err := u.anon.Login(ctx, u.name, userPassword)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.tokens, u.issued = sdk.NewTokens(pair, time.Now()), time.Now()
	u.mu.Unlock()
	return nil
}

// opLoginLogout is a short session: sign in, one call, sign out (which
// puts the access token on the deny-list and revokes the refresh token).
func opLoginLogout(ctx context.Context, _ *load, u *user) error {
	pair, err := u.anon.Login(ctx, u.name, userPassword)
	if err != nil {
		return err
	}
	c := sdk.New(u.anon.BaseURL(), sdk.WithAccessToken(pair.AccessToken))
	if _, err := c.Me(ctx); err != nil {
		return err
	}
	return c.Logout(ctx, pair.RefreshToken)
}

func opRefresh(ctx context.Context, _ *load, u *user) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.refreshLocked(ctx)
}

// opCreate creates an allocation with an Idempotency-Key; one in four is
// sent again with the same key and must answer the same allocation. A user
// at maxLivePerUser releases one instead.
func opCreate(ctx context.Context, l *load, u *user) error {
	u.mu.Lock()
	if len(u.live)+u.pending >= maxLivePerUser {
		u.mu.Unlock()
		return releaseOldest(ctx, u)
	}
	u.pending++
	u.mu.Unlock()
	defer func() { u.mu.Lock(); u.pending--; u.mu.Unlock() }()
	key := uuid.NewString()
	req := api.CreateAllocationRequest{SkuId: skuID, Name: sdk.Ptr("soak")}
	a, err := u.client.CreateAllocation(ctx, req, key)
	if err != nil {
		return err
	}
	u.mu.Lock()
	u.live = append(u.live, a.Id)
	u.mu.Unlock()
	if rand.IntN(4) == 0 {
		again, err := u.client.CreateAllocation(ctx, req, key)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		if again.Id != a.Id {
			l.replayMismatch.Add(1)
			return fmt.Errorf("replayed Idempotency-Key %s answered %s, first %s", key, again.Id, a.Id)
		}
	}
	return nil
}

// opRelease releases the user's oldest live allocation; with none, it
// creates one instead.
func opRelease(ctx context.Context, l *load, u *user) error {
	u.mu.Lock()
	none := len(u.live) == 0
	u.mu.Unlock()
	if none {
		return opCreate(ctx, l, u)
	}
	return releaseOldest(ctx, u)
}

// releaseOldest releases the user's oldest live allocation; with none (its
// slots are creates in flight) it lists instead.
func releaseOldest(ctx context.Context, u *user) error {
	u.mu.Lock()
	if len(u.live) == 0 {
		u.mu.Unlock()
		_, err := u.client.ListAllocations(ctx, api.ListAllocationsParams{PageSize: sdk.Ptr(5)})
		return err
	}
	id := u.live[0]
	u.live = u.live[1:]
	u.released = append(u.released, id)
	if len(u.released) > 20 {
		u.released = u.released[1:]
	}
	u.mu.Unlock()
	_, err := u.client.ReleaseAllocation(ctx, id)
	return err
}

func opGet(ctx context.Context, _ *load, u *user) error {
	u.mu.Lock()
	ids := append(slices.Clone(u.live), u.released...)
	u.mu.Unlock()
	if len(ids) == 0 {
		_, err := u.client.ListAllocations(ctx, api.ListAllocationsParams{PageSize: sdk.Ptr(5)})
		return err
	}
	_, err := u.client.GetAllocation(ctx, ids[rand.IntN(len(ids))])
	return err
}

// opNotifications opens /ws/notifications, holds it a moment while reading
// what arrives, and closes it: cleanly three times in four, abruptly (no
// close handshake) otherwise.
func opNotifications(ctx context.Context, l *load, u *user) error {
	tok, err := u.token(ctx)
	if err != nil {
		return err
	}
	ws, resp, err := websocket.Dial(ctx, "ws://"+l.addr+"/ws/notifications", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
	})
	if err != nil {
		if resp != nil {
			return &sdk.Error{Status: resp.StatusCode, Code: "ws_dial", Message: err.Error()}
		}
		return err
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	hold := time.NewTimer(time.Duration(200+rand.IntN(1300)) * time.Millisecond)
	defer hold.Stop()
	select {
	case <-hold.C:
	case <-ctx.Done():
	case <-read:
		return errors.New("notification websocket closed by the server")
	}
	if rand.IntN(4) == 0 {
		ws.CloseNow()
	} else if err := ws.Close(websocket.StatusNormalClosure, "soak"); err != nil && ctx.Err() == nil {
		ws.CloseNow()
		<-read
		return fmt.Errorf("close notification websocket: %w", err)
	}
	<-read
	return nil
}

func opAdminRead(ctx context.Context, l *load, _ *user) error {
	a := l.admin
	var err error
	switch rand.IntN(6) {
	case 0:
		_, err = a.AdminOverview(ctx)
	case 1:
		_, err = a.AdminListUsers(ctx, api.AdminListUsersParams{PageSize: sdk.Ptr(20)})
	case 2:
		_, err = a.AdminListAllocations(ctx, api.AdminListAllocationsParams{PageSize: sdk.Ptr(20)})
	case 3:
		_, err = a.AdminListAuditLogs(ctx, api.AdminListAuditLogsParams{PageSize: sdk.Ptr(20)})
	case 4:
		_, err = a.AdminListDeadLetters(ctx, api.AdminListDeadLettersParams{PageSize: sdk.Ptr(20)})
	case 5:
		_, err = a.AdminListNodes(ctx, api.AdminListNodesParams{PageSize: sdk.Ptr(20)})
	}
	return err
}

// opStats counts one op's outcomes.
type opStats struct {
	ok         int
	refused    map[int]int // 4xx by status: expected now and then (a race with the sim, a rate limit)
	unexpected int         // 5xx, transport errors, wrong answers
	lastErr    string
}

// load offers ops at a fixed rate to a bounded set of workers; an op that
// finds every worker busy is skipped (counted), so the offered rate never
// piles up behind a slow server.
type load struct {
	addr    string
	admin   *sdk.Client
	users   []*user
	rate    float64
	workers int

	mu      sync.Mutex
	stats   map[string]*opStats
	skipped int

	replayMismatch atomic.Int64
}

func newLoad(cp *controlPlane, rate float64, workers int) *load {
	return &load{addr: cp.addr, admin: cp.admin, users: cp.users, rate: rate, workers: workers, stats: map[string]*opStats{}}
}

// run offers load until ctx ends, then waits for the ops in flight.
func (l *load) run(ctx context.Context) {
	total := 0
	for _, o := range mix {
		total += o.weight
	}
	work := make(chan op)
	var wg sync.WaitGroup
	for range l.workers {
		wg.Go(func() {
			for o := range work {
				u := l.users[rand.IntN(len(l.users))]
				octx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := o.do(octx, l, u)
				cancel()
				l.record(ctx, o.name, err)
			}
		})
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / l.rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			close(work)
			wg.Wait()
			return
		case <-tick.C:
		}
		n := rand.IntN(total)
		var o op
		for _, o = range mix {
			if n < o.weight {
				break
			}
			n -= o.weight
		}
		select {
		case work <- o:
		default:
			l.mu.Lock()
			l.skipped++
			l.mu.Unlock()
		}
	}
}

func (l *load) record(ctx context.Context, name string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats[name]
	if s == nil {
		s = &opStats{refused: map[int]int{}}
		l.stats[name] = s
	}
	switch status := sdk.StatusOf(err); {
	case err == nil:
		s.ok++
	case ctx.Err() != nil:
		// The load is stopping; what it cut short says nothing.
	case status >= 400 && status < 500:
		s.refused[status]++
		s.lastErr = err.Error()
	default:
		s.unexpected++
		s.lastErr = err.Error()
	}
}

// summary is the per-op table and the totals.
func (l *load) summary() (table string, ops, unexpected int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for n := range l.stats {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %8s %-22s %10s  %s\n", "op", "ok", "refused (4xx)", "unexpected", "last error")
	for _, n := range names {
		s := l.stats[n]
		var ref []string
		for code, c := range s.refused {
			ref = append(ref, fmt.Sprintf("%d×%d", c, code))
		}
		sort.Strings(ref)
		r := strings.Join(ref, " ")
		if r == "" {
			r = "-"
		}
		last := s.lastErr
		if len(last) > 80 {
			last = last[:80] + "…"
		}
		fmt.Fprintf(&b, "%-20s %8d %-22s %10d  %s\n", n, s.ok, r, s.unexpected, last)
		ops += s.ok + s.unexpected
		for _, c := range s.refused {
			ops += c
		}
		unexpected += s.unexpected
	}
	fmt.Fprintf(&b, "skipped (every worker busy): %d\n", l.skipped)
	return b.String(), ops, unexpected
}
