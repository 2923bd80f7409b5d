package cognito

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// symbols are the characters Cognito counts as special in a password policy (the
// user pool password requirements page): ^ $ * . [ ] { } ( ) ? " ! @ # % & / \ ,
// > < ' : ; | _ ~ ` = + - and a space that neither leads nor trails.
const symbols = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "

// check applies the pool's password policy with Cognito's
// InvalidPasswordException wording, one reason at a time in the order Cognito's
// answers are seen to follow (length, then lower case, upper case, numbers,
// symbols).
func (p passwordPolicy) check(pw string) error {
	if pw != strings.TrimSpace(pw) || pw == "" {
		// The API model's pattern for Password: no leading or trailing white space.
		return newError(codeInvalidParameter, `1 validation error detected: Value at 'password' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[\S]+.*[\S]+$`)
	}
	has := func(f func(rune) bool) bool { return strings.IndexFunc(pw, f) >= 0 }
	switch {
	case len([]rune(pw)) < p.minLength:
		return newError(codeInvalidPassword, msgPasswordPolicy+"Password not long enough")
	case p.lower && !has(unicode.IsLower):
		return newError(codeInvalidPassword, msgPasswordPolicy+"Password must have lowercase characters")
	case p.upper && !has(unicode.IsUpper):
		return newError(codeInvalidPassword, msgPasswordPolicy+"Password must have uppercase characters")
	case p.numbers && !has(unicode.IsDigit):
		return newError(codeInvalidPassword, msgPasswordPolicy+"Password must have numeric characters")
	case p.symbols && !has(func(r rune) bool { return strings.ContainsRune(symbols, r) }):
		return newError(codeInvalidPassword, msgPasswordPolicy+"Password must have symbol characters")
	}
	return nil
}

// generate makes a temporary password that meets the policy, as AdminCreateUser
// does when the caller gives none.
func (p passwordPolicy) generate() string {
	n := max(p.minLength, 12)
	var b strings.Builder
	b.WriteString(randomFrom("ABCDEFGHJKLMNPQRSTUVWXYZ", 1))
	b.WriteString(randomFrom("abcdefghijkmnopqrstuvwxyz", 1))
	b.WriteString(randomFrom("23456789", 1))
	b.WriteString(randomFrom("!@#%&*+=?", 1))
	b.WriteString(randomFrom("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", n-4))
	return b.String()
}

func randomFrom(alphabet string, n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails
	out := make([]byte, n)
	for i, c := range buf {
		out[i] = alphabet[int(c)%len(alphabet)]
	}
	return string(out)
}

// Passwords are stored as PBKDF2-HMAC-SHA256. The iteration count is lower than a
// production store would use: the twin holds developers' test accounts, and every
// sign-in in the test suites pays it.
const passwordIterations = 20_000

func hashPassword(pw string) (string, error) {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	dk, err := pbkdf2.Key(sha256.New, pw, salt, passwordIterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", passwordIterations, enc.EncodeToString(salt), enc.EncodeToString(dk)), nil
}

func passwordMatches(stored, pw string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter <= 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}
