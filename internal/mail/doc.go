// Package mail sends notification email from the durable mail_outbox
// table. package notify writes a row in the transaction that stores a
// notification (Enqueue); a Mailer (worker role) claims due rows with FOR
// UPDATE SKIP LOCKED, so replicas split the work, sends each over SMTP as
// plain text plus HTML, and marks it sent, or records the error and backs
// off (30 s doubling to 1 h) to try again. A row leaves the queue only
// when the SMTP server has accepted it: an outage delays mail and loses
// none. Sent rows are deleted after KeepSent.
//
// It owns the SMTP client and the message format; what a notification
// says is notify's.
package mail
