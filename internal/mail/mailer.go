package mail

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpuaas/gpuaas/internal/prom"
	"github.com/gpuaas/gpuaas/internal/store"
	"github.com/gpuaas/gpuaas/internal/store/db"
)

// Backoff of a failed send: 30 s doubling to at most an hour.
const (
	BackoffBase = 30 * time.Second
	BackoffMax  = time.Hour
	// KeepSent is how long a sent row is kept (housekeeping deletes it).
	KeepSent = 7 * 24 * time.Hour
	// batch is how many rows one claim takes.
	batch = 20
)

// Backoff is the wait after the n-th failed attempt (1-based).
func Backoff(n int) time.Duration {
	d := BackoffBase
	for i := 1; i < n && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// Sender sends one message (Server.Send; a test may wrap it).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Mailer sends the mail_outbox.
type Mailer struct {
	st   *store.Store
	smtp Sender
	now  func() time.Time
	log  *slog.Logger

	sent, failed prometheus.Counter
	depth        prometheus.Gauge
}

// NewMailer sends st's mail_outbox through smtp; metrics go to reg.
func NewMailer(st *store.Store, smtp Sender, reg prometheus.Registerer) *Mailer {
	return &Mailer{st: st, smtp: smtp, now: time.Now, log: slog.Default(),
		sent: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_mail_sent_total", Help: "Notification emails accepted by the SMTP server.",
		})),
		failed: prom.Register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gpuaas_mail_failed_total", Help: "Notification email send attempts that failed (each is retried with backoff).",
		})),
		depth: prom.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gpuaas_mail_queue_depth", Help: "Notification emails waiting to be sent (due or backing off), as of the mailer's last pass.",
		})),
	}
}

// SendDue sends every row due at now, batch by batch, until none is left
// or a send fails (that row backs off; the rest stay due for the next
// pass). It returns how many were sent and failed. A message the server
// accepted whose row could not then be marked is sent again: delivery is
// at least once.
func (m *Mailer) SendDue(ctx context.Context, now time.Time) (sent, failed int, err error) {
	now = now.UTC().Truncate(time.Microsecond)
	for {
		var s, f int
		err := m.st.InTx(ctx, func(tx *store.Store) error {
			s, f = 0, 0
			rows, err := tx.ClaimMail(ctx, db.ClaimMailParams{Now: now, Batch: batch})
			if err != nil {
				return fmt.Errorf("claim mail: %w", err)
			}
			for _, r := range rows {
				serr := m.smtp.Send(ctx, Message{ID: r.ID.String(), To: r.ToAddr, Subject: r.Subject, Text: r.TextBody, HTML: r.HtmlBody})
				if serr == nil {
					if err := tx.MarkMailSent(ctx, db.MarkMailSentParams{ID: r.ID, Now: now}); err != nil {
						return fmt.Errorf("mark mail sent: %w", err)
					}
					s++
					continue
				}
				m.log.Warn("mail: send", "mail_id", r.ID, "kind", r.Kind, "attempt", r.Attempts+1, "err", serr)
				msg := serr.Error()
				if len(msg) > 500 {
					msg = msg[:500]
				}
				if err := tx.MarkMailFailed(ctx, db.MarkMailFailedParams{ID: r.ID, LastError: msg,
					NextAttemptAt: now.Add(Backoff(int(r.Attempts) + 1))}); err != nil {
					return fmt.Errorf("mark mail failed: %w", err)
				}
				// The server is likely down for the rest too: they stay due,
				// and the next pass tries the next one.
				f++
				return nil
			}
			return nil
		})
		if err != nil {
			return sent, failed, err
		}
		sent, failed = sent+s, failed+f
		m.sent.Add(float64(s))
		m.failed.Add(float64(f))
		if s == 0 {
			break
		}
	}
	n, err := m.st.CountPendingMail(ctx)
	if err != nil {
		return sent, failed, fmt.Errorf("count pending mail: %w", err)
	}
	m.depth.Set(float64(n))
	return sent, failed, nil
}

// Run sends due mail every interval until ctx ends, and deletes sent rows
// past KeepSent once an hour.
func (m *Mailer) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastClean := time.Time{}
	for {
		if _, _, err := m.SendDue(ctx, m.now()); err != nil && ctx.Err() == nil {
			m.log.Error("mail: send due", "err", err)
		}
		if time.Since(lastClean) > time.Hour {
			lastClean = time.Now()
			if _, err := m.st.DeleteSentMail(ctx, pgtype.Interval{Microseconds: KeepSent.Microseconds(), Valid: true}); err != nil && ctx.Err() == nil {
				m.log.Error("mail: delete sent", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Content is what a notification's email says.
type Content struct {
	Subject, Text, HTML string
}

// Compose renders a notification as an email: its title as the subject,
// its body, and a link to the console page concerned (link may be "").
// settings is where the user turns the kind off.
func Compose(title, body, link, settings string) Content {
	var t strings.Builder
	t.WriteString(body + "\n")
	if link != "" {
		t.WriteString("\nOpen the console: " + link + "\n")
	}
	if settings != "" {
		t.WriteString("\nYou get this email because of your notification preferences: " + settings + "\n")
	}
	var h strings.Builder
	h.WriteString(`<!DOCTYPE html><html><body style="font-family:sans-serif;line-height:1.5;max-width:36em">`)
	h.WriteString("<h1 style=\"font-size:1.2em\">" + html.EscapeString(title) + "</h1>")
	h.WriteString("<p>" + html.EscapeString(body) + "</p>")
	if link != "" {
		h.WriteString(`<p><a href="` + html.EscapeString(link) + `">Open the console</a></p>`)
	}
	if settings != "" {
		h.WriteString(`<p style="color:#666;font-size:.9em">You get this email because of your <a href="` +
			html.EscapeString(settings) + `">notification preferences</a>.</p>`)
	}
	h.WriteString("</body></html>")
	return Content{Subject: title, Text: t.String(), HTML: h.String()}
}

// Enqueue writes the mail of notification id (of userID, of kind) in tx,
// the transaction that stores the notification; nothing when the user
// opted out of kind or has no address. It reports whether a row was
// written.
func Enqueue(ctx context.Context, tx *store.Store, notificationID, userID uuid.UUID, kind string, c Content) (bool, error) {
	n, err := tx.EnqueueMail(ctx, db.EnqueueMailParams{ID: uuid.Must(uuid.NewV7()), NotificationID: notificationID,
		UserID: userID, Kind: kind, Subject: c.Subject, TextBody: c.Text, HtmlBody: c.HTML})
	if err != nil {
		return false, fmt.Errorf("enqueue mail: %w", err)
	}
	return n > 0, nil
}
