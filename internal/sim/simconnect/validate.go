package simconnect

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Patterns of the Connect model. The model writes PhoneNumber's pattern
// with doubled escapes (^\\+[1-9]\\d{1,14}$); the service checks E.164, which
// is what is meant. TagKey's "(?!aws:)" look-ahead is checked separately
// since RE2 has none.
var (
	rePhone       = regexp.MustCompile(`^\+[1-9]\d{1,14}$`)
	reTagKey      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	reSAMLName    = regexp.MustCompile(`^[a-zA-Z0-9_\-.@]+$`)
	reEmailFormed = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

const (
	invalidParameter = "InvalidParameterException"
	maxACWSeconds    = 2_000_000
)

// decode reads a JSON request body into v; an empty body is an empty
// object. Malformed JSON is an InvalidRequestException.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errInvalidRequest("The request body could not be parsed: %v", err)
	}
	return nil
}

// problems returns p's problems as an InvalidParameterException, or nil.
// It returns a plain error so that "no problems" is a nil interface.
func problems(p *simkit.Problems) error {
	if e := p.Err(http.StatusBadRequest, invalidParameter); e != nil {
		return e
	}
	return nil
}

func checkInstanceID(p *simkit.Problems, id string) {
	p.Required("instanceId", id)
	p.Length("instanceId", id, 1, 100)
}

// checkIdentityInfo checks an IdentityInfo's members as the model states
// them. FirstName and LastName must also be in Unicode Normalization Form
// C: UserIdentityInfo documents both as "Inputs must be in Unicode
// Normalization Form C (NFC). Text containing characters in a non-NFC form
// (for example, decomposed characters or combining marks) are not
// accepted." (connect-2017-08-08.json, UserIdentityInfo.FirstName and
// .LastName). The documentation does not name the exception; a value that
// breaks a member's documented constraint is, in Connect's model,
// InvalidParameterException ("One or more of the specified parameters are
// not valid"), which is what this answers. "Ame\u0301lie" is refused,
// "Am\u00e9lie" accepted.
func checkIdentityInfo(p *simkit.Problems, prefix string, info *identityInfoJSON) {
	if info == nil {
		return
	}
	p.Length(prefix+".firstName", info.FirstName, 0, 255)
	p.Length(prefix+".lastName", info.LastName, 0, 300)
	for _, m := range [...][2]string{{"firstName", info.FirstName}, {"lastName", info.LastName}} {
		if !norm.NFC.IsNormalString(m[1]) {
			p.Addf("Value at '%s.%s' failed to satisfy constraint: Member must be in Unicode Normalization Form C (NFC)", prefix, m[0])
		}
	}
	p.Match(prefix+".mobile", info.Mobile, rePhone)
}

func checkPhoneConfig(p *simkit.Problems, pc *phoneConfigIn) {
	p.Required("phoneConfig.phoneType", pc.PhoneType)
	switch pc.PhoneType {
	case "", "SOFT_PHONE":
	case "DESK_PHONE":
		if pc.DeskPhoneNumber == "" {
			p.Addf("Value null at 'phoneConfig.deskPhoneNumber' failed to satisfy constraint: Member must not be null when phoneType is DESK_PHONE")
		}
	default:
		p.Addf("Value '%s' at 'phoneConfig.phoneType' failed to satisfy constraint: Member must satisfy enum value set: [SOFT_PHONE, DESK_PHONE]", pc.PhoneType)
	}
	// The model says only "min 0"; the service documents a maximum of
	// 2,000,000 seconds.
	if acw := pc.AfterContactWorkTimeLimit; acw != nil && (*acw < 0 || *acw > maxACWSeconds) {
		p.Addf("Value '%d' at 'phoneConfig.afterContactWorkTimeLimit' failed to satisfy constraint: Member must have value between 0 and %d", *acw, maxACWSeconds)
	}
	p.Match("phoneConfig.deskPhoneNumber", pc.DeskPhoneNumber, rePhone)
}

func checkSecurityProfileIDs(p *simkit.Problems, ids []string) {
	if ids == nil {
		p.Required("securityProfileIds", "")
		return
	}
	if len(ids) < 1 || len(ids) > 10 {
		p.Addf("Value at 'securityProfileIds' failed to satisfy constraint: Member must have length between 1 and 10")
	}
}

func checkTags(p *simkit.Problems, tags map[string]string) {
	if tags == nil {
		return
	}
	if len(tags) < 1 || len(tags) > 50 {
		p.Addf("Value at 'tags' failed to satisfy constraint: Member must have length between 1 and 50")
	}
	for k, v := range tags {
		n := utf8.RuneCountInString(k)
		if n < 1 || n > 128 || !reTagKey.MatchString(k) || strings.HasPrefix(k, "aws:") {
			p.Addf("Value '%s' at 'tags' failed to satisfy constraint: Map keys must have length between 1 and 128, satisfy pattern ^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$", k)
		}
		if utf8.RuneCountInString(v) > 256 {
			p.Addf("Value at 'tags.%s' failed to satisfy constraint: Member must have length between 0 and 256", k)
		}
	}
}

// checkPassword is the model's Password pattern: 8–64 characters with no
// white space and at least one lower-case letter, upper-case letter and
// digit.
func checkPassword(p *simkit.Problems, pw *string) {
	if pw == nil {
		return
	}
	var lower, upper, digit, space bool
	for _, r := range *pw {
		switch {
		case unicode.IsSpace(r):
			space = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		}
	}
	n := utf8.RuneCountInString(*pw)
	if n < 8 || n > 64 || space || !lower || !upper || !digit {
		p.Addf("Value at 'password' failed to satisfy constraint: Member must satisfy regular expression pattern: ^/^(?=.*[a-z])(?=.*[A-Z])(?=.*\\d)[a-zA-Z\\d\\S]{8,64}$/$")
	}
}

// Username limits per identity management type. CreateUserRequest.Username
// (connect-2017-08-08.json): "For instances not using SAML for identity
// management, the user name can include up to 20 characters. If you are
// using SAML for identity management, the user name can include up to 64
// characters from [a-zA-Z0-9_-.\@]+." and "Username can include @ only if
// used in an email format" (testuser@example.com, not testuser@example).
// The AgentUsername shape itself allows 1-100 characters; the documented
// per-type limits are stricter and are what the stand-in enforces:
// CONNECT_MANAGED and EXISTING_DIRECTORY 20, SAML 64.
const (
	maxUsernameSAML  = 64
	maxUsernameOther = 20
)

// checkUsername applies the rules that depend on the instance's identity
// management (see maxUsernameSAML); breaking one is an
// InvalidParameterException, like the model's own constraints.
func checkUsername(idType, name string) error {
	var p simkit.Problems
	n := utf8.RuneCountInString(name)
	switch {
	case idType == IdentitySAML && (n > maxUsernameSAML || !reSAMLName.MatchString(name)):
		p.Addf("Value at 'username' failed to satisfy constraint: with SAML identity management the user name must have at most %d characters from [a-zA-Z0-9_-.@]", maxUsernameSAML)
	case idType != IdentitySAML && n > maxUsernameOther:
		p.Addf("Value at 'username' failed to satisfy constraint: with %s identity management the user name must have at most %d characters", idType, maxUsernameOther)
	}
	if strings.Contains(name, "@") && !reEmailFormed.MatchString(name) {
		p.Addf("Value at 'username' failed to satisfy constraint: '@' is allowed only in an email-formed user name")
	}
	return problems(&p)
}

// checkIdentityRules applies the documented rules of the instance's
// identity management to a new or updated user: a password only (and
// always) with CONNECT_MANAGED, no DirectoryUserId with SAML, FirstName and
// LastName with SAML and CONNECT_MANAGED. Breaking one is an
// InvalidRequestException: the request does not fit the instance.
func checkIdentityRules(idType string, password, directoryUserID *string, info *identityInfoJSON, creating bool) error {
	if creating {
		switch {
		case idType == IdentityConnectManaged && password == nil:
			return errInvalidRequest("Password is required for instances that use CONNECT_MANAGED identity management")
		case idType != IdentityConnectManaged && password != nil:
			return errInvalidRequest("Password is not allowed for instances that use %s identity management", idType)
		case idType == IdentitySAML && directoryUserID != nil:
			return errInvalidRequest("DirectoryUserId is not allowed for instances that use SAML identity management")
		}
	}
	if idType == IdentitySAML || idType == IdentityConnectManaged {
		if info == nil || info.FirstName == "" || info.LastName == "" {
			return errInvalidRequest("IdentityInfo.FirstName and IdentityInfo.LastName are required for instances that use %s identity management", idType)
		}
	}
	// UserIdentityInfo: "The FirstName and LastName length constraints
	// below apply only to instances using SAML for identity management. If
	// you are using Amazon Connect for identity management, the length
	// constraints are 1-255 for FirstName, and 1-256 for LastName." The
	// model's own limits (0-255, 0-300) are checked with the other
	// parameters.
	if idType == IdentityConnectManaged && info != nil && utf8.RuneCountInString(info.LastName) > 256 {
		return errInvalidParameter("Value at 'identityInfo.lastName' failed to satisfy constraint: with CONNECT_MANAGED identity management the last name must have length between 1 and 256")
	}
	return nil
}

// parseMaxResults reads the maxResults query member: def when absent, else
// an integer in [1,limit]; otherwise the error mkErr builds.
func parseMaxResults(raw string, def, limit int, mkErr func(string, ...any) *simkit.APIError) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > limit {
		return 0, mkErr("1 validation error detected: Value '%s' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", raw, limit)
	}
	return n, nil
}
