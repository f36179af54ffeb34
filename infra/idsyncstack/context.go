package idsyncstack

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Context keys read by PropsFromContext (cdk.json "context", or
// `cdk synth -c key=value`). Durations are Go durations ("15m", "90s").
const (
	CtxPrefix                 = "prefix"                  // Prefix
	CtxConfigFile             = "configFile"              // ConfigFile (relative to infra/)
	CtxConfigParameter        = "configParameter"         // ConfigParameter
	CtxWorkMailOrganizationID = "workmailOrganizationId"  // WorkMailOrganizationID (with configParameter)
	CtxConnectInstanceID      = "connectInstanceId"       // ConnectInstanceID (with configParameter)
	CtxIdentityStoreID        = "identityStoreId"         // IdentityStoreID (with configParameter)
	CtxHookSecretName         = "hookSecretName"          // HookSecretName
	CtxHookSecretKeyARN       = "hookSecretKeyArn"        // HookSecretKeyARN
	CtxHookAuthHeader         = "hookAuthHeader"          // HookAuthHeader
	CtxHookSecretTTL          = "hookSecretTtl"           // HookSecretTTL
	CtxScheduleRate           = "scheduleRate"            // ScheduleRate
	CtxIdCRate                = "idcRate"                 // IdCRate
	CtxConsumerTimeout        = "consumerTimeout"         // ConsumerTimeout
	CtxMaxConcurrency         = "maxConcurrency"          // MaxConcurrency
	CtxWorkMailRate           = "workmailRate"            // WorkMailRate
	CtxConnectRate            = "connectRate"             // ConnectRate
	CtxCodeDir                = "codeDir"                 // CodeDir
	CtxLogLevel               = "logLevel"                // LogLevel
	CtxLogRetentionDays       = "logRetentionDays"        // LogRetention, in days (a value CloudWatch Logs offers)
	CtxHookConcurrency        = "hookConcurrency"         // HookConcurrency
	CtxAlarmEmail             = "alarmEmail"              // AlarmEmails, comma-separated
	CtxAlarmTopicARN          = "alarmTopicArn"           // AlarmTopicARN
	CtxQueueAgeAlarm          = "queueAgeAlarm"           // QueueAgeAlarm
	CtxArchiveRetentionDays   = "archiveRetentionDays"    // ArchiveRetentionDays
	CtxExportBucketEncryption = "exportBucketEncryption"  // ExportBucketEncryption
	CtxExportTransitionDays   = "exportTransitionDays"    // ExportTransitionDays
	CtxExportExpireDays       = "exportExpireDays"        // ExportExpireDays
	CtxExportNoncurrentDays   = "exportNoncurrentDays"    // ExportNoncurrentDays
	CtxOktaAPISecretName      = "oktaApiSecretName"       // OktaAPISecretName
	CtxSkipWorkMailAssign     = "skipWorkMailAssignments" // SkipWorkMailAssignments ("true" or "false")
)

// PropsFromContext builds Props (without StackProps) from CDK context
// values; get returns nil for an unset key (app.Node().TryGetContext).
// Values may be strings (from -c) or JSON numbers (from cdk.json).
//
// Errors: every malformed value at once, joined, each matching
// ErrInvalidProps. Missing required values are New's to report.
func PropsFromContext(get func(key string) any) (Props, error) {
	var errs []error
	bad := func(key string, v any, want string) {
		errs = append(errs, fmt.Errorf("%w: context %s=%v: want %s", ErrInvalidProps, key, v, want))
	}
	str := func(key string) string {
		switch v := get(key).(type) {
		case nil:
			return ""
		case string:
			return strings.TrimSpace(v)
		default:
			bad(key, v, "a string")
			return ""
		}
	}
	num := func(key string) float64 {
		switch v := get(key).(type) {
		case nil:
			return 0
		case float64:
			return v
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				bad(key, v, "a number")
			}
			return f
		default:
			bad(key, v, "a number")
			return 0
		}
	}
	dur := func(key string) time.Duration {
		s := str(key)
		if s == "" {
			return 0
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			bad(key, s, `a duration such as "15m"`)
		}
		return d
	}

	p := Props{
		Prefix:                 str(CtxPrefix),
		ConfigFile:             str(CtxConfigFile),
		ConfigParameter:        str(CtxConfigParameter),
		WorkMailOrganizationID: str(CtxWorkMailOrganizationID),
		ConnectInstanceID:      str(CtxConnectInstanceID),
		IdentityStoreID:        str(CtxIdentityStoreID),
		HookSecretName:         str(CtxHookSecretName),
		HookSecretKeyARN:       str(CtxHookSecretKeyARN),
		HookAuthHeader:         str(CtxHookAuthHeader),
		HookSecretTTL:          dur(CtxHookSecretTTL),
		ScheduleRate:           dur(CtxScheduleRate),
		IdCRate:                num(CtxIdCRate),
		ConsumerTimeout:        dur(CtxConsumerTimeout),
		WorkMailRate:           num(CtxWorkMailRate),
		ConnectRate:            num(CtxConnectRate),
		CodeDir:                str(CtxCodeDir),
		LogLevel:               str(CtxLogLevel),
	}
	whole := func(key string) int {
		n := num(key)
		if n != float64(int(n)) {
			bad(key, n, "a whole number")
		}
		return int(n)
	}
	p.MaxConcurrency = whole(CtxMaxConcurrency)
	p.HookConcurrency = whole(CtxHookConcurrency)
	p.ArchiveRetentionDays = whole(CtxArchiveRetentionDays)
	p.ExportBucketEncryption = strings.ToLower(str(CtxExportBucketEncryption))
	p.ExportTransitionDays = whole(CtxExportTransitionDays)
	p.ExportExpireDays = whole(CtxExportExpireDays)
	p.ExportNoncurrentDays = whole(CtxExportNoncurrentDays)
	p.AlarmTopicARN = str(CtxAlarmTopicARN)
	p.OktaAPISecretName = str(CtxOktaAPISecretName)
	switch v := get(CtxSkipWorkMailAssign).(type) {
	case nil:
	case bool:
		p.SkipWorkMailAssignments = v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			bad(CtxSkipWorkMailAssign, v, "true or false")
		}
		p.SkipWorkMailAssignments = b
	default:
		bad(CtxSkipWorkMailAssign, v, "true or false")
	}
	p.QueueAgeAlarm = dur(CtxQueueAgeAlarm)
	for _, e := range strings.Split(str(CtxAlarmEmail), ",") {
		if e = strings.TrimSpace(e); e != "" {
			p.AlarmEmails = append(p.AlarmEmails, e)
		}
	}
	if days := num(CtxLogRetentionDays); days != 0 {
		r, ok := retentionDays(int(days))
		if !ok || days != float64(int(days)) {
			bad(CtxLogRetentionDays, days, "a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)")
		}
		p.LogRetention = r
	}
	return p, errors.Join(errs...)
}

// retentionDays maps a number of days to CloudWatch Logs' retention.
func retentionDays(days int) (awslogs.RetentionDays, bool) {
	r, ok := map[int]awslogs.RetentionDays{
		1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
		5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
		14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
		60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
		120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
		180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
		400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
		731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
		1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
		2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
		3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
	}[days]
	return r, ok
}
