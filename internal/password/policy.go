package password

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"github.com/gpuaas/gpuaas/internal/apperr"
)

// Length bounds, counted in runes. NIST SP 800-63B asks for at least 8 and
// recommends longer for memorised secrets; the upper bound keeps hashing cost
// predictable and is far above what a passphrase needs.
const (
	MinLength = 12
	MaxLength = 256
)

// CodeWeakPassword is the error code for a password the policy refuses.
const CodeWeakPassword = "weak_password"

//go:embed common.txt
var commonText string

var common = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, line := range strings.Split(commonText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
}()

// CheckPolicy returns an apperr weak_password error when pw may not be used
// by username. Following NIST SP 800-63B there are no composition rules
// (they push people to "Password1!"); instead known-bad passwords are
// refused.
func CheckPolicy(pw, username string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return apperr.InvalidCode(CodeWeakPassword, "password must be valid UTF-8")
	case n < MinLength:
		return apperr.InvalidCode(CodeWeakPassword, "password must be at least %d characters", MinLength)
	case n > MaxLength:
		return apperr.InvalidCode(CodeWeakPassword, "password must be at most %d characters", MaxLength)
	case username != "" && strings.EqualFold(pw, username):
		return apperr.InvalidCode(CodeWeakPassword, "password must not be the username")
	case repeatsOneChar(pw):
		return apperr.InvalidCode(CodeWeakPassword, "password must not repeat a single character")
	}
	if _, bad := common[strings.ToLower(pw)]; bad {
		return apperr.InvalidCode(CodeWeakPassword, "password is too common; choose a longer or less predictable one")
	}
	return nil
}

func repeatsOneChar(s string) bool {
	first, _ := utf8.DecodeRuneInString(s)
	for _, r := range s {
		if r != first {
			return false
		}
	}
	return true
}
