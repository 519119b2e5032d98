package store

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map github.com/google/uuid.
// Without it pgx reaches a uuid.UUID through database/sql's Valuer and
// Scanner: every parameter is formatted as text, fails the binary
// encoder, is parsed back and encoded again, and every scanned column
// goes through a string. That was a tenth of the server's CPU on the
// create path (make bench-profile).
func registerUUID(conn *pgx.Conn) {
	m := conn.TypeMap()
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
}

// uuidCodec is pgx's UUID codec with direct plans for uuid.UUID and
// uuid.NullUUID.
type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	switch value.(type) {
	case uuid.UUID:
		return encodeUUID{format: format}
	case uuid.NullUUID:
		return encodeNullUUID{format: format}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	switch target.(type) {
	case *uuid.UUID:
		return scanUUID{format: format}
	case *uuid.NullUUID:
		return scanNullUUID{format: format}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type encodeUUID struct{ format int16 }

func (p encodeUUID) Encode(value any, buf []byte) ([]byte, error) {
	u := value.(uuid.UUID)
	if p.format == pgtype.BinaryFormatCode {
		return append(buf, u[:]...), nil
	}
	return append(buf, u.String()...), nil
}

type encodeNullUUID struct{ format int16 }

func (p encodeNullUUID) Encode(value any, buf []byte) ([]byte, error) {
	n := value.(uuid.NullUUID)
	if !n.Valid {
		return nil, nil
	}
	return encodeUUID(p).Encode(n.UUID, buf)
}

type scanUUID struct{ format int16 }

func (p scanUUID) Scan(src []byte, dst any) error {
	if src == nil {
		return fmt.Errorf("cannot scan NULL into *uuid.UUID")
	}
	u, err := parseUUID(p.format, src)
	if err != nil {
		return err
	}
	*dst.(*uuid.UUID) = u
	return nil
}

type scanNullUUID struct{ format int16 }

func (p scanNullUUID) Scan(src []byte, dst any) error {
	n := dst.(*uuid.NullUUID)
	if src == nil {
		*n = uuid.NullUUID{}
		return nil
	}
	u, err := parseUUID(p.format, src)
	if err != nil {
		return err
	}
	*n = uuid.NullUUID{UUID: u, Valid: true}
	return nil
}

func parseUUID(format int16, src []byte) (uuid.UUID, error) {
	if format == pgtype.BinaryFormatCode {
		if len(src) != 16 {
			return uuid.UUID{}, fmt.Errorf("invalid length for uuid: %d", len(src))
		}
		return uuid.UUID(src), nil
	}
	return uuid.ParseBytes(src)
}
