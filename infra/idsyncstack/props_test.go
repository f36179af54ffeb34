package idsyncstack_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/infra/idsyncstack"
)

// TestNewRejectsBadProps: New reports what is wrong (every problem at
// once), matching ErrInvalidProps, and adds nothing to the app.
func TestNewRejectsBadProps(t *testing.T) {
	big := bigConfig(t)
	for _, c := range []struct {
		name   string
		change func(*idsyncstack.Props)
		want   []string // substrings of the error
		config bool     // also matches domain.ErrInvalidConfig
	}{
		{"no configuration", func(p *idsyncstack.Props) { p.ConfigFile = "" },
			[]string{"ConfigFile or ConfigParameter is required"}, false},
		{"both configuration sources", func(p *idsyncstack.Props) { p.ConfigParameter = "/idsync/config" },
			[]string{"not both"}, false},
		{"invalid document", func(p *idsyncstack.Props) { p.ConfigFile = "testdata/invalid.json" },
			[]string{"workmail.organizationId", "workmail.groups"}, true},
		{"missing document", func(p *idsyncstack.Props) { p.ConfigFile = "testdata/absent.json" },
			[]string{"absent.json"}, false},
		{"document too large for the environment", func(p *idsyncstack.Props) { p.ConfigFile = big },
			[]string{"4 KB environment"}, false},
		{"id disagrees with the document", func(p *idsyncstack.Props) {
			p.ConnectInstanceID = "ffffffff-0000-4000-8000-000000000000"
		}, []string{"ConnectInstanceID", "disagrees"}, false},
		{"key for a generated secret", func(p *idsyncstack.Props) {
			p.HookSecretKeyARN = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001"
		}, []string{"HookSecretKeyARN is for an existing secret"}, false},
		{"hook concurrency out of range", func(p *idsyncstack.Props) { p.HookConcurrency = 2000 },
			[]string{"HookConcurrency 2000"}, false},
		{"alarm settings", func(p *idsyncstack.Props) {
			p.AlarmEmails = []string{"oncall@example.org", "not an address"}
			p.AlarmTopicARN = "arn:aws:sqs:eu-west-1:111122223333:oncall"
			p.QueueAgeAlarm = 90 * time.Second
		}, []string{`AlarmEmails: "not an address"`, "AlarmTopicARN", "QueueAgeAlarm 1m30s"}, false},
		{"archive retention", func(p *idsyncstack.Props) { p.ArchiveRetentionDays = -5 },
			[]string{"ArchiveRetentionDays -5"}, false},
		{"schedule not whole minutes", func(p *idsyncstack.Props) { p.ScheduleRate = 90 * time.Second },
			[]string{"ScheduleRate 1m30s"}, false},
		{"consumer timeout beyond Lambda's", func(p *idsyncstack.Props) { p.ConsumerTimeout = 20 * time.Minute },
			[]string{"ConsumerTimeout 20m0s"}, false},
		{"consumer timeout inside the time reserve", func(p *idsyncstack.Props) { p.ConsumerTimeout = 10 * time.Second },
			[]string{"ConsumerTimeout 10s", "reserve"}, false},
		{"one consumer instance", func(p *idsyncstack.Props) { p.MaxConcurrency = 1 },
			[]string{"MaxConcurrency 1"}, false},
		{"negative rate", func(p *idsyncstack.Props) { p.ConnectRate = -1 },
			[]string{"ConnectRate -1"}, false},
		{"bad log level", func(p *idsyncstack.Props) { p.LogLevel = "loud" },
			[]string{`LogLevel "loud"`}, false},
		{"no build output", func(p *idsyncstack.Props) { p.CodeDir = t.TempDir() },
			[]string{"code of oktahook", "code of connect", "make build"}, false},
		{"parameter without ids", func(p *idsyncstack.Props) { p.ConfigFile, p.ConfigParameter = "", "/idsync/config" },
			[]string{"which targets to deploy", "IdentityStoreID is required"}, false},
		{"parameter with malformed ids", func(p *idsyncstack.Props) {
			p.ConfigFile, p.ConfigParameter = "", "/idsync/config"
			p.WorkMailOrganizationID, p.ConnectInstanceID, p.IdentityStoreID = "m-123", "instance/1", "store"
		}, []string{`WorkMailOrganizationID "m-123"`, `ConnectInstanceID "instance/1"`, `IdentityStoreID "store"`}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := baseProps(t)
			c.change(&p)
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
			st, err := idsyncstack.New(app, "Idsync", p)
			if err == nil {
				t.Fatalf("New accepted the properties (stack %v)", st)
			}
			if !errors.Is(err, idsyncstack.ErrInvalidProps) {
				t.Errorf("error %v does not match ErrInvalidProps", err)
			}
			if c.config != errors.Is(err, domain.ErrInvalidConfig) {
				t.Errorf("error %v: matches domain.ErrInvalidConfig = %v, want %v", err, !c.config, c.config)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if n := len(*app.Node().Children()); n != 0 {
				t.Errorf("app has %d children after a rejected New", n)
			}
		})
	}
}

// bigConfig writes a valid document larger than MaxInlineConfig.
func bigConfig(t *testing.T) string {
	t.Helper()
	var groups []string
	for i := 0; i < 40; i++ {
		groups = append(groups, fmt.Sprintf(`{"oktaId":"00g5mailusers%04dx7","idcId":"90670a1b2c-0a1b2c3d-1111-4222-8333-4444555%05d","name":"Mail Users %d"}`, i, i, i))
	}
	doc := `{"snapshot":{"identityStoreId":"d-90670a1b2c"},"workmail":{"organizationId":"m-8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c","groups":[` +
		strings.Join(groups, ",") + `]}}`
	if _, err := domain.ParseConfig([]byte(doc)); err != nil {
		t.Fatalf("test document invalid: %v", err)
	}
	if len(doc) <= idsyncstack.MaxInlineConfig {
		t.Fatalf("test document is only %d bytes", len(doc))
	}
	path := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPropsFromContext: context values arrive as strings (-c key=value) or
// JSON values (cdk.json) and map onto Props.
func TestPropsFromContext(t *testing.T) {
	for _, c := range []struct {
		name    string
		ctx     map[string]any
		check   func(t *testing.T, p idsyncstack.Props)
		wantErr []string
	}{
		{"strings from the command line", map[string]any{
			"configFile": " ../config.json ", "hookSecretName": "idsync/okta-hook", "scheduleRate": "30m",
			"hookSecretTtl": "90s", "consumerTimeout": "1m", "maxConcurrency": "4", "connectRate": "1.5",
			"logRetentionDays": "30", "prefix": "idsync-prod-",
			"alarmEmail": "oncall@example.org, idm-team@example.org", "alarmTopicArn": "arn:aws:sns:eu-west-1:111122223333:oncall",
			"queueAgeAlarm": "45m", "hookConcurrency": "5", "archiveRetentionDays": "2557",
			"exportBucketEncryption": "S3", "exportTransitionDays": "90", "exportExpireDays": "3650", "exportNoncurrentDays": "7",
			"oktaApiSecretName": " idsync/okta-api ", "skipWorkMailAssignments": "true",
		}, func(t *testing.T, p idsyncstack.Props) {
			if p.OktaAPISecretName != "idsync/okta-api" || !p.SkipWorkMailAssignments {
				t.Errorf("Okta API and assignments: %q %v", p.OktaAPISecretName, p.SkipWorkMailAssignments)
			}
			if p.ExportBucketEncryption != idsyncstack.ExportBucketS3 || p.ExportTransitionDays != 90 || p.ExportExpireDays != 3650 || p.ExportNoncurrentDays != 7 {
				t.Errorf("export settings: %q %d %d %d", p.ExportBucketEncryption, p.ExportTransitionDays, p.ExportExpireDays, p.ExportNoncurrentDays)
			}
			if d := strings.Join(p.AlarmEmails, "|"); d != "oncall@example.org|idm-team@example.org" || p.AlarmTopicARN == "" {
				t.Errorf("alarm settings: %q %q", p.AlarmEmails, p.AlarmTopicARN)
			}
			if p.QueueAgeAlarm != 45*time.Minute || p.HookConcurrency != 5 || p.ArchiveRetentionDays != 2557 {
				t.Errorf("new settings: %v %v %v", p.QueueAgeAlarm, p.HookConcurrency, p.ArchiveRetentionDays)
			}
			if p.ConfigFile != "../config.json" || p.HookSecretName != "idsync/okta-hook" || p.Prefix != "idsync-prod-" {
				t.Errorf("strings: %+v", p)
			}
			if p.ScheduleRate != 30*time.Minute || p.HookSecretTTL != 90*time.Second || p.ConsumerTimeout != time.Minute {
				t.Errorf("durations: %v %v %v", p.ScheduleRate, p.HookSecretTTL, p.ConsumerTimeout)
			}
			if p.MaxConcurrency != 4 || p.ConnectRate != 1.5 || p.LogRetention != "ONE_MONTH" {
				t.Errorf("numbers: %v %v %v", p.MaxConcurrency, p.ConnectRate, p.LogRetention)
			}
		}, nil},
		{"JSON numbers from cdk.json", map[string]any{
			"configParameter": "/idsync/config", "maxConcurrency": 3.0, "idcRate": 10.0, "logRetentionDays": 365.0,
			"workmailOrganizationId": "m-8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c", "identityStoreId": "d-90670a1b2c",
		}, func(t *testing.T, p idsyncstack.Props) {
			if p.ConfigParameter != "/idsync/config" || p.MaxConcurrency != 3 || p.IdCRate != 10 || p.LogRetention != "ONE_YEAR" {
				t.Errorf("%+v", p)
			}
			if p.WorkMailOrganizationID == "" || p.IdentityStoreID != "d-90670a1b2c" {
				t.Errorf("ids: %+v", p)
			}
		}, nil},
		{"nothing set leaves defaults to New", map[string]any{}, func(t *testing.T, p idsyncstack.Props) {
			if p.ScheduleRate != 0 || p.Prefix != "" || p.LogRetention != "" || p.AlarmEmails != nil || p.HookConcurrency != 0 {
				t.Errorf("%+v", p)
			}
		}, nil},
		{"malformed values, all reported", map[string]any{
			"scheduleRate": "fortnightly", "maxConcurrency": 2.5, "logRetentionDays": 10.0, "idcRate": "fast",
			"hookSecretName": 7.0, "hookConcurrency": "many", "archiveRetentionDays": 1.5, "queueAgeAlarm": "soon",
			"exportExpireDays": "ten years", "skipWorkMailAssignments": "maybe",
		}, nil, []string{"scheduleRate=fortnightly", "maxConcurrency=2.5", "logRetentionDays=10", "idcRate=fast", "hookSecretName=7",
			"hookConcurrency=many", "archiveRetentionDays=1.5", "queueAgeAlarm=soon", "exportExpireDays=ten years", "skipWorkMailAssignments=maybe"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := idsyncstack.PropsFromContext(func(k string) any { return c.ctx[k] })
			if c.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, p)
				return
			}
			if !errors.Is(err, idsyncstack.ErrInvalidProps) {
				t.Fatalf("error %v does not match ErrInvalidProps", err)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
