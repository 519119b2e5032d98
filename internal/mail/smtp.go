package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// Server is where and how mail is sent: --smtp-url and --mail-from.
type Server struct {
	Host, Port string
	// TLS is none (plain; STARTTLS not attempted), starttls (required),
	// tls (implicit TLS, smtps) or "" (STARTTLS when the server offers it).
	TLS      string
	Username string
	Password string
	From     *mail.Address
	// TLSConfig, when set, replaces the default (tests).
	TLSConfig *tls.Config
	// Timeout bounds one message's whole exchange (30 s when 0).
	Timeout time.Duration
}

// ParseServer reads smtp://[user:pass@]host:port[?tls=none|starttls|tls]
// (smtps:// is tls) and the sender address.
func ParseServer(rawURL, from string) (Server, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Server{}, fmt.Errorf("parse smtp url: %w", err)
	}
	if (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Port() == "" {
		return Server{}, errors.New("want smtp://[user:pass@]host:port")
	}
	s := Server{Host: u.Hostname(), Port: u.Port(), TLS: u.Query().Get("tls")}
	if u.Scheme == "smtps" {
		s.TLS = "tls"
	}
	switch s.TLS {
	case "", "none", "starttls", "tls":
	default:
		return Server{}, fmt.Errorf("tls= wants none, starttls or tls, got %q", s.TLS)
	}
	if u.User != nil {
		s.Username = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	if s.From, err = mail.ParseAddress(from); err != nil {
		return Server{}, fmt.Errorf("parse sender address: %w", err)
	}
	return s, nil
}

// Message is one email.
type Message struct {
	ID      string // unique; becomes the Message-ID's local part
	To      string
	Subject string
	Text    string
	HTML    string
}

// Send delivers m through s in one SMTP session.
func (s Server) Send(ctx context.Context, m Message) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("parse recipient: %w", err)
	}
	addr := net.JoinHostPort(s.Host, s.Port)
	tlsCfg := s.TLSConfig
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	var conn net.Conn
	if s.TLS == "tls" {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("dial smtp %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if s.TLS != "tls" && s.TLS != "none" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		} else if s.TLS == "starttls" {
			return errors.New("smtp server does not offer STARTTLS")
		}
	}
	if s.Username != "" {
		if ok, _ := c.Extension("AUTH"); ok {
			if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
				return fmt.Errorf("smtp auth: %w", err)
			}
		}
	}
	if err := c.Mail(s.From.Address); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(s.render(m, to)); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}

// render is m as an RFC 5322 message: multipart/alternative, the plain
// text first and the HTML second, both quoted-printable UTF-8.
func (s Server) render(m Message, to *mail.Address) []byte {
	var b bytes.Buffer
	boundary := randomBoundary()
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", s.From.String())
	h("To", to.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", time.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.ID+"@"+domainOf(s.From.Address)+">")
	h("MIME-Version", "1.0")
	h("Auto-Submitted", "auto-generated")
	h("Content-Type", `multipart/alternative; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.typ)
		qp := quotedprintable.NewWriter(&b)
		_, _ = qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(part.body, "\r\n", "\n"), "\n", "\r\n")))
		_ = qp.Close()
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes()
}

func randomBoundary() string {
	var r [12]byte
	_, _ = rand.Read(r[:])
	return "gpuaas-" + hex.EncodeToString(r[:])
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "gpuaas"
}
