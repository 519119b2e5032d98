package config

import (
	"flag"
	"net/mail"
	"net/url"
	"time"
)

// Mail is notifications by email: the SMTP server and the sender. With no
// SMTPURL nothing is mailed.
type Mail struct {
	// SMTPURL is smtp://[user:pass@]host:port[?tls=none|starttls|tls]
	// (smtps:// is tls).
	SMTPURL string
	From    string
	// PollInterval is how often the mailer looks for due mail when not
	// woken.
	PollInterval time.Duration
}

func (m *Mail) register(fs *flag.FlagSet) {
	fs.StringVar(&m.SMTPURL, "smtp-url", m.SMTPURL, "SMTP server for notification email: smtp://[user:pass@]host:port[?tls=none|starttls|tls] (smtps:// is tls); empty sends no email")
	fs.StringVar(&m.From, "mail-from", m.From, "sender address of notification email, e.g. \"GPUaaS <noreply@example.com>\"; required with --smtp-url")
	fs.DurationVar(&m.PollInterval, "mail-poll-interval", m.PollInterval, "how often the mailer looks for mail to send or retry, 100ms to 1h")
}

func (m *Mail) validate(add func(error)) {
	if m.PollInterval < 100*time.Millisecond || m.PollInterval > time.Hour {
		add(Invalid("mail-poll-interval", "must be between 100ms and 1h, got %s", m.PollInterval))
	}
	if m.SMTPURL == "" {
		return
	}
	u, err := url.Parse(m.SMTPURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Port() == "" {
		add(Invalid("smtp-url", "want smtp://[user:pass@]host:port[?tls=none|starttls|tls], got %q", redact(m.SMTPURL)))
	} else {
		switch u.Query().Get("tls") {
		case "", "none", "starttls", "tls":
		default:
			add(Invalid("smtp-url", "tls= wants none, starttls or tls, got %q", u.Query().Get("tls")))
		}
	}
	if m.From == "" {
		add(Invalid("mail-from", "required with --smtp-url"))
	} else if _, err := mail.ParseAddress(m.From); err != nil {
		add(Invalid("mail-from", "want an address such as \"GPUaaS <noreply@example.com>\": %v", err))
	}
}

// Limits are the platform's default spend limits; 0 is unlimited. An
// admin's per-user value overrides each.
type Limits struct {
	MaxConcurrentGPUs    int64
	MaxMonthlySpendMinor int64
	MaxBurnPerHourMinor  int64
}

func (l *Limits) register(fs *flag.FlagSet) {
	fs.Int64Var(&l.MaxConcurrentGPUs, "limit-max-concurrent-gpus", l.MaxConcurrentGPUs, "default most GPUs one user may hold at once (allocations requested, provisioning or active); 0 is unlimited")
	fs.Int64Var(&l.MaxMonthlySpendMinor, "limit-max-monthly-spend-minor", l.MaxMonthlySpendMinor, "default most usage one user may be charged per calendar month (UTC), in minor units; 0 is unlimited")
	fs.Int64Var(&l.MaxBurnPerHourMinor, "limit-max-burn-per-hour-minor", l.MaxBurnPerHourMinor, "default most one user may run at once, as an hourly price in minor units; 0 is unlimited")
}

func (l *Limits) validate(add func(error)) {
	if l.MaxConcurrentGPUs < 0 {
		add(Invalid("limit-max-concurrent-gpus", "must not be negative"))
	}
	if l.MaxMonthlySpendMinor < 0 {
		add(Invalid("limit-max-monthly-spend-minor", "must not be negative"))
	}
	if l.MaxBurnPerHourMinor < 0 {
		add(Invalid("limit-max-burn-per-hour-minor", "must not be negative"))
	}
}
