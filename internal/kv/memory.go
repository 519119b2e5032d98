package kv

import (
	"context"
	"math"
	"sync"
	"time"
)

// Memory is an in-process Store, valid only for a single replica.
type Memory struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets map[string]*bucket
	entries map[string]*entry
	ops     int
}

type bucket struct {
	tokens float64
	last   time.Time
}

type entry struct {
	n       int64
	value   string
	expires time.Time
}

// NewMemory returns an empty in-process store. now may be nil (time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, buckets: map[string]*bucket{}, entries: map[string]*entry{}}
}

func (m *Memory) Take(_ context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok, wait := m.takeLocked(key, rate, burst)
	return ok, wait, nil
}

func (m *Memory) TakeUnlessFlagged(_ context.Context, key string, rate float64, burst int, flags ...string) (bool, bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.flaggedLocked(flags) {
		return true, false, 0, nil
	}
	ok, wait := m.takeLocked(key, rate, burst)
	return false, ok, wait, nil
}

func (m *Memory) takeLocked(key string, rate float64, burst int) (bool, time.Duration) {
	now := m.now()
	m.sweepLocked(now)
	b, ok := m.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(burst), last: now}
		m.buckets[key] = b
	}
	b.tokens = math.Min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

func (m *Memory) Incr(_ context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweepLocked(now)
	e := m.live(key, now)
	if e == nil {
		e = &entry{expires: now.Add(window)}
		m.entries[key] = e
	}
	e.n++
	return e.n, e.expires.Sub(now), nil
}

func (m *Memory) Count(_ context.Context, key string) (int64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if e := m.live(key, now); e != nil {
		return e.n, e.expires.Sub(now), nil
	}
	return 0, 0, nil
}

func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, key)
	delete(m.buckets, key)
	return nil
}

func (m *Memory) SetFlag(_ context.Context, key string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = &entry{n: 1, expires: m.now().Add(ttl)}
	return nil
}

func (m *Memory) HasFlag(_ context.Context, keys ...string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flaggedLocked(keys), nil
}

func (m *Memory) flaggedLocked(keys []string) bool {
	now := m.now()
	for _, key := range keys {
		if m.live(key, now) != nil {
			return true
		}
	}
	return false
}

func (m *Memory) SetValue(_ context.Context, key, value string, ttl time.Duration) error {
	if ttl <= 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.sweepLocked(now)
	m.entries[key] = &entry{value: value, expires: now.Add(ttl)}
	return nil
}

func (m *Memory) GetDel(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.live(key, m.now())
	if e == nil {
		return "", false, nil
	}
	delete(m.entries, key)
	return e.value, true, nil
}

func (m *Memory) Ping(context.Context) error { return nil }

func (m *Memory) live(key string, now time.Time) *entry {
	e, ok := m.entries[key]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(m.entries, key)
		return nil
	}
	return e
}

// sweepLocked drops expired entries and full buckets now and then, so the
// maps stay bounded by the number of active keys.
func (m *Memory) sweepLocked(now time.Time) {
	m.ops++
	if m.ops%1024 != 0 {
		return
	}
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		}
	}
	for k, b := range m.buckets {
		if now.Sub(b.last) > 10*time.Minute {
			delete(m.buckets, k)
		}
	}
}
