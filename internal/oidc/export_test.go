package oidc

import "context"

// VerifyIDToken runs the ID-token checks of a callback on raw, for the
// tests that need a token the code exchange would never hand over (one
// minted for another client, or checked at a later time).
func (s *Service) VerifyIDToken(ctx context.Context, provider, raw, nonce string) error {
	p, err := s.ready(ctx, provider)
	if err != nil {
		return err
	}
	_, err = s.verify(ctx, p, raw, nonce)
	return err
}
