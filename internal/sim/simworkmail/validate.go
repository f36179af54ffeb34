package simworkmail

import (
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Patterns and limits from the WorkMail API model (workmail-2017-10-01).
var (
	reOrganizationID  = regexp.MustCompile(`^m-[0-9a-f]{32}$`)
	reUserName        = regexp.MustCompile(`^[\w\-.]+(@[a-zA-Z0-9.\-]+\.[a-zA-Z0-9-]{2,})?$`)
	reEntityID        = regexp.MustCompile(`^[a-zA-Z0-9._%+@-]+$`)
	reEmail           = regexp.MustCompile(`^[a-zA-Z0-9._%+-]{1,64}@[a-zA-Z0-9.-]+\.[a-zA-Z-]{2,}$`)
	rePassword        = regexp.MustCompile(`^[\x{0020}-\x{00FF}]+$`)
	reIdPUserID       = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	reIdPUserIDUpdate = regexp.MustCompile(`^$|^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	reIdPUserIDPrefix = regexp.MustCompile(`^[A-Fa-f0-9-]+$`)
	reInstanceArn     = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	reApplicationArn  = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}$`)
)

// Enumerations from the model.
var (
	userRoles   = []string{"USER", "RESOURCE", "SYSTEM_USER", "REMOTE_USER"}
	entityState = []string{StateEnabled, StateDisabled, StateDeleted}
	authModes   = []string{"IDENTITY_PROVIDER_ONLY", "IDENTITY_PROVIDER_AND_DIRECTORY"}
	patStatuses = []string{"ACTIVE", "INACTIVE"}
)

// checker gathers the model's constraint violations for one request; they
// are reported together as one InvalidParameterException, as WorkMail does.
type checker struct{ p simkit.Problems }

func (c *checker) required(name string, v *string) {
	if v == nil {
		c.p.Addf("Value null at '%s' failed to satisfy constraint: Member must not be null", name)
	}
}

func (c *checker) length(name string, v *string, min, max int) {
	if v == nil {
		return
	}
	if n := utf8.RuneCountInString(*v); n < min || n > max {
		c.p.Addf("Value at '%s' failed to satisfy constraint: Member must have length between %d and %d", name, min, max)
	}
}

func (c *checker) match(name string, v *string, re *regexp.Regexp) {
	if v != nil && !re.MatchString(*v) {
		c.p.Addf("Value at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", name, re.String())
	}
}

// str checks an optional or required string member against its length and
// pattern.
func (c *checker) str(name string, v *string, req bool, min, max int, re *regexp.Regexp) {
	if req {
		c.required(name, v)
	}
	c.length(name, v, min, max)
	if re != nil {
		c.match(name, v, re)
	}
}

func (c *checker) enum(name string, v *string, allowed []string) {
	if v == nil {
		return
	}
	for _, a := range allowed {
		if *v == a {
			return
		}
	}
	c.p.Addf("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy enum value set: [%s]", *v, name, strings.Join(allowed, ", "))
}

func (c *checker) intRange(name string, v *int32, min, max int32) {
	if v != nil && (*v < min || *v > max) {
		c.p.Addf("Value '%d' at '%s' failed to satisfy constraint: Member must have value between %d and %d", *v, name, min, max)
	}
}

func (c *checker) orgID(v *string) {
	c.str("organizationId", v, true, 34, 34, reOrganizationID)
}

func (c *checker) entityID(name string, v *string) {
	c.str(name, v, true, 1, 256, reEntityID)
}

func (c *checker) attr(name string, v *string) {
	c.length(name, v, 0, 256)
}

func (c *checker) err() error {
	if e := c.p.Err(http.StatusBadRequest, codeInvalidParameter); e != nil {
		return e
	}
	return nil
}
