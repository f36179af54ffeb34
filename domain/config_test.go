package domain_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
)

func readConfigFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseConfigFull(t *testing.T) {
	cfg, err := domain.ParseConfig(readConfigFile(t, "full.json"))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	want := domain.Config{
		Snapshot: domain.SnapshotConfig{IdentityStoreID: "d-9067c53e4f",
			RemovalCap: domain.RemovalCap{Max: 25, MaxPercent: 5, MinForPercent: 3}, SettleWindow: domain.Duration(15 * time.Minute),
			RedeliverAfter: domain.Duration(30 * time.Minute), RetryFailedAfter: domain.Duration(12 * time.Hour)},
		Hook: domain.HookConfig{RemovalBrake: domain.RemovalBrake{Max: 20, Window: domain.Duration(5 * time.Minute)}},
		WorkMail: &domain.WorkMailConfig{
			OrganizationID: fxOrg,
			MailDomain:     "example.com",
			Groups:         []domain.GroupRef{fxMail, fxMailEU},
			NameTemplate:   "{{.LoginLocal | lower}}",
			EmailTemplate:  "{{.LoginLocal | lower}}@{{.Domain}}",
			OnLeave:        domain.WorkMailLeave{Action: domain.LeaveDelete, DeleteAfterDays: 30},
			IdentityCenter: domain.WorkMailIdentityCenter{
				InstanceARN:     "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6",
				ApplicationARN:  "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0a1b2c3d4e5f6a7b",
				AssignmentGrace: domain.Duration(45 * time.Minute),
			},
		},
		Connect: &domain.ConnectConfig{
			InstanceID:       "4f1c2e3d-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
			PhoneType:        domain.PhoneTypeDesk,
			UsernameTemplate: "{{.Login}}",
			Groups: []domain.ConnectGroup{
				{
					GroupRef:           fxAgents,
					SecurityProfileIDs: []string{"7b1e2d3c-0000-4000-8000-00000000a9e1"},
					RoutingProfileID:   "3c2b1a09-0000-4000-8000-0000000b0a51",
					Priority:           20,
				},
				{
					GroupRef:           fxSupervisors,
					SecurityProfileIDs: []string{"7b1e2d3c-0000-4000-8000-00000000a9e1", "7b1e2d3c-0000-4000-8000-0000005a9e52"},
					RoutingProfileID:   "3c2b1a09-0000-4000-8000-00000000f1a5",
					HierarchyGroupID:   "5e4d3c2b-0000-4000-8000-000000005a9e",
					Priority:           10,
				},
			},
			OnLeave: domain.ConnectLeave{
				Action:             domain.LeaveStrip,
				SecurityProfileIDs: []string{"7b1e2d3c-0000-4000-8000-0000000e4a57"},
				RoutingProfileID:   "3c2b1a09-0000-4000-8000-0000000e4a57",
			},
		},
		DryRun: true,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("ParseConfig(full.json) (-want +got):\n%s", diff)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := domain.ParseConfig(readConfigFile(t, "minimal.json"))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	w, c := cfg.WorkMail, cfg.Connect
	got := []string{
		w.NameTemplate, w.EmailTemplate, string(w.OnLeave.Action), w.MailDomain,
		c.PhoneType, c.UsernameTemplate, string(c.OnLeave.Action),
	}
	want := []string{"{{.LoginLocal}}", "{{.LoginLocal}}@{{.Domain}}", "disable", "", "SOFT_PHONE", "{{.Login}}", "delete"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if cfg.Snapshot.RemovalCap != (domain.RemovalCap{Max: 50, MaxPercent: 10, MinForPercent: 5}) {
		t.Errorf("removal cap %+v, want the default 50 / 10%% above 5", cfg.Snapshot.RemovalCap)
	}
	if cfg.Snapshot.SettleWindow != domain.Duration(10*time.Minute) {
		t.Errorf("settle window %v, want the default 10m", time.Duration(cfg.Snapshot.SettleWindow))
	}
	if cfg.DryRun {
		t.Error("dryRun defaults to true")
	}
	if g := w.IdentityCenter.AssignmentGrace; g != domain.Duration(time.Hour) || w.AssignmentGrace() != time.Hour {
		t.Errorf("assignment grace %v (%v), want the default 1h", time.Duration(g), w.AssignmentGrace())
	}
	if g := (domain.WorkMailConfig{}).AssignmentGrace(); g != domain.DefaultAssignmentGrace {
		t.Errorf("an unset assignment grace reads %v, want %v", g, domain.DefaultAssignmentGrace)
	}
	if r, f := time.Duration(cfg.Snapshot.RedeliverAfter), time.Duration(cfg.Snapshot.RetryFailedAfter); r != time.Hour || f != 24*time.Hour {
		t.Errorf("redeliverAfter %v, retryFailedAfter %v; want the defaults 1h and 24h", r, f)
	}
	if b := cfg.Hook.RemovalBrake; b != (domain.RemovalBrake{Max: 50, Window: domain.Duration(10 * time.Minute)}) {
		t.Errorf("removal brake %+v, want the default 50 per 10m", b)
	}

	// A removal cap given in part keeps the defaults of the other fields;
	// an explicit zero settle window is kept (no window).
	partial := strings.Replace(string(readConfigFile(t, "minimal.json")), `"identityStoreId": "d-9067c53e4f"`,
		`"identityStoreId": "d-9067c53e4f", "removalCap": {"max": 7}, "settleWindow": "0s"`, 1)
	cfg, err = domain.ParseConfig([]byte(partial))
	if err != nil || cfg.Snapshot.RemovalCap != (domain.RemovalCap{Max: 7, MaxPercent: 10, MinForPercent: 5}) {
		t.Errorf("partial removal cap: %+v, %v; want {7 10 5}", cfg.Snapshot.RemovalCap, err)
	}
	if cfg.Snapshot.SettleWindow != 0 {
		t.Errorf("settle window %v, want the explicit 0s", time.Duration(cfg.Snapshot.SettleWindow))
	}
}

func TestWithDefaultsCopiesSections(t *testing.T) {
	in := domain.Config{
		WorkMail: &domain.WorkMailConfig{OrganizationID: fxOrg},
		Connect:  &domain.ConnectConfig{InstanceID: "i"},
	}
	out := in.WithDefaults()
	if in.WorkMail.NameTemplate != "" || in.Connect.PhoneType != "" {
		t.Error("WithDefaults modified the sections of its receiver")
	}
	if out.WorkMail.NameTemplate != domain.DefaultNameTemplate || out.Connect.PhoneType != domain.DefaultPhoneType ||
		out.Snapshot.RemovalCap.Max != domain.DefaultMaxRemovals {
		t.Errorf("defaults not applied: %+v %+v %+v", out.WorkMail, out.Connect, out.Snapshot)
	}
	if (domain.Config{}).WithDefaults().WorkMail != nil {
		t.Error("WithDefaults invented a WorkMail section")
	}
}

// problemPaths returns the field paths of every *ConfigError in err.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Validate error %T is not a joined error: %v", err, err)
	}
	var paths []string
	for _, e := range joined.Unwrap() {
		var ce *domain.ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("problem %v is not a *ConfigError", e)
		}
		if !errors.Is(e, domain.ErrInvalidConfig) {
			t.Errorf("problem %v does not match ErrInvalidConfig", e)
		}
		paths = append(paths, ce.Path)
	}
	slices.Sort(paths)
	return paths
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg, err := domain.ParseConfig(readConfigFile(t, "invalid.json"))
	if err == nil {
		t.Fatal("invalid.json accepted")
	}
	if cfg.WorkMail == nil || cfg.Connect == nil {
		t.Error("ParseConfig did not return the decoded config with the validation error")
	}
	want := []string{
		"connect.groups[0]",
		"connect.groups[0].routingProfileId",
		"connect.groups[0].securityProfileIds",
		"connect.groups[1].priority",
		"connect.groups[1].securityProfileIds",
		"connect.groups[1].securityProfileIds[10]",
		"connect.instanceId",
		"connect.onLeave",
		"connect.phoneType",
		"connect.usernameTemplate",
		"hook.removalBrake.max",
		"hook.removalBrake.window",
		"snapshot.identityStoreId",
		"snapshot.redeliverAfter",
		"snapshot.removalCap.max",
		"snapshot.removalCap.maxPercent",
		"snapshot.removalCap.minForPercent",
		"snapshot.retryFailedAfter",
		"snapshot.settleWindow",
		"workmail.emailTemplate",
		"workmail.groups[1]",
		"workmail.groups[2]",
		"workmail.mailDomain",
		"workmail.nameTemplate",
		"workmail.onLeave.action",
		"workmail.organizationId",
	}
	if diff := cmp.Diff(want, problemPaths(t, err)); diff != "" {
		t.Errorf("problems reported (-want +got):\n%s\nfull error:\n%v", diff, err)
	}
	for _, say := range []string{
		`connect.groups[0]: names the same group as workmail.groups[0] with different ids`,
		`connect.groups[1].priority: 1 is also the priority of connect.groups[0]`,
		`connect.groups[1].securityProfileIds: has 11 security profile ids, want 1–10`,
		`connect.groups[1].securityProfileIds[10]: "sp-1" is listed twice`,
		`workmail.emailTemplate: `, `can't evaluate field Nickname`,
		`connect.usernameTemplate: `, `function "nope" not defined`,
		`workmail.groups[2]: same group as workmail.groups[0]`,
		`workmail.organizationId: "m-0123456789ABCDEF" does not match`,
		`snapshot.removalCap.minForPercent: 0 must be at least 1`,
		`snapshot.settleWindow: -5m0s must be at least 0 and less than 24h0m0s`,
		`snapshot.redeliverAfter: 10s must be between 1m0s and 168h0m0s`,
		`hook.removalBrake.max: -1 must be at least 1`,
		`hook.removalBrake.window: 25h0m0s must be more than 0 and at most 24h0m0s`,
	} {
		if !strings.Contains(err.Error(), say) {
			t.Errorf("error does not say %q", say)
		}
	}
}

func TestValidateCases(t *testing.T) {
	valid := func() domain.Config {
		cfg, err := domain.ParseConfig(readConfigFile(t, "full.json"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name   string
		modify func(*domain.Config)
		want   []string // problem paths; nil means valid
	}{
		{"full config", func(*domain.Config) {}, nil},
		{"no target", func(c *domain.Config) { c.WorkMail, c.Connect = nil, nil }, []string{"config"}},
		{"workmail only", func(c *domain.Config) { c.Connect = nil }, nil},
		{"UUID identity store", func(c *domain.Config) { c.Snapshot.IdentityStoreID = "4f1c2e3d-5a6b-4c7d-8e9f-0a1b2c3d4e5f" }, nil},
		{"no groups", func(c *domain.Config) { c.WorkMail.Groups = nil; c.Connect.Groups = nil }, []string{"connect.groups", "workmail.groups"}},
		{"disable with deleteAfterDays", func(c *domain.Config) { c.WorkMail.OnLeave.Action = domain.LeaveDisable },
			[]string{"workmail.onLeave.deleteAfterDays"}},
		{"delete with negative days", func(c *domain.Config) { c.WorkMail.OnLeave.DeleteAfterDays = -1 },
			[]string{"workmail.onLeave.deleteAfterDays"}},
		{"empty defaulted fields are valid", func(c *domain.Config) {
			c.WorkMail.NameTemplate, c.WorkMail.EmailTemplate, c.Connect.PhoneType, c.Connect.UsernameTemplate = "", "", "", ""
			c.WorkMail.OnLeave = domain.WorkMailLeave{}
			c.Connect.OnLeave = domain.ConnectLeave{}
		}, nil},
		{"strip without profiles", func(c *domain.Config) { c.Connect.OnLeave = domain.ConnectLeave{Action: domain.LeaveStrip} },
			[]string{"connect.onLeave.routingProfileId", "connect.onLeave.securityProfileIds"}},
		{"unknown connect leave action", func(c *domain.Config) { c.Connect.OnLeave.Action = "disable" }, []string{"connect.onLeave.action"}},
		{"empty security profile id", func(c *domain.Config) { c.Connect.Groups[0].SecurityProfileIDs = []string{""} },
			[]string{"connect.groups[0].securityProfileIds[0]"}},
		{"template rendering nothing", func(c *domain.Config) { c.WorkMail.NameTemplate = `{{if false}}x{{end}}` },
			[]string{"workmail.nameTemplate"}},
		{"settle window of zero is valid", func(c *domain.Config) { c.Snapshot.SettleWindow = 0 }, nil},
		{"settle window just under a day", func(c *domain.Config) { c.Snapshot.SettleWindow = domain.Duration(24*time.Hour - time.Second) }, nil},
		{"settle window of a day", func(c *domain.Config) { c.Snapshot.SettleWindow = domain.Duration(24 * time.Hour) },
			[]string{"snapshot.settleWindow"}},
		{"negative settle window", func(c *domain.Config) { c.Snapshot.SettleWindow = domain.Duration(-time.Second) },
			[]string{"snapshot.settleWindow"}},
		{"negative minForPercent", func(c *domain.Config) { c.Snapshot.RemovalCap.MinForPercent = -1 },
			[]string{"snapshot.removalCap.minForPercent"}},
		{"assignment grace unset", func(c *domain.Config) { c.WorkMail.IdentityCenter = domain.WorkMailIdentityCenter{} }, nil},
		{"assignment grace of a day", func(c *domain.Config) {
			c.WorkMail.IdentityCenter.AssignmentGrace = domain.Duration(24 * time.Hour)
		}, nil},
		{"assignment grace over a day", func(c *domain.Config) {
			c.WorkMail.IdentityCenter.AssignmentGrace = domain.Duration(24*time.Hour + time.Second)
		}, []string{"workmail.identityCenter.assignmentGrace"}},
		{"negative assignment grace", func(c *domain.Config) {
			c.WorkMail.IdentityCenter.AssignmentGrace = domain.Duration(-time.Minute)
		}, []string{"workmail.identityCenter.assignmentGrace"}},
		{"IdC instance and application", func(c *domain.Config) {
			c.WorkMail.IdentityCenter.InstanceARN = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"
			c.WorkMail.IdentityCenter.ApplicationARN = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0a1b2c3d4e5f6a7b"
		}, nil},
		{"IdC application alone", func(c *domain.Config) {
			c.WorkMail.IdentityCenter.ApplicationARN = "arn:aws-cn:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0a1b2c3d4e5f6a7b"
		}, nil},
		{"IdC ARNs malformed", func(c *domain.Config) {
			c.WorkMail.IdentityCenter.InstanceARN = "ssoins-7223a1b2c3d4e5f6"
			c.WorkMail.IdentityCenter.ApplicationARN = "arn:aws:sso::123456789012:application/apl-0a1b2c3d4e5f6a7b"
		}, []string{"workmail.identityCenter.applicationArn", "workmail.identityCenter.instanceArn"}},
		{"IdC application of another instance", func(c *domain.Config) {
			c.WorkMail.IdentityCenter.InstanceARN = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"
			c.WorkMail.IdentityCenter.ApplicationARN = "arn:aws:sso::123456789012:application/ssoins-1111a1b2c3d4e5f6/apl-0a1b2c3d4e5f6a7b"
		}, []string{"workmail.identityCenter.applicationArn"}},
		{"zero redelivery and brake fields mean the defaults", func(c *domain.Config) {
			c.Snapshot.RedeliverAfter, c.Snapshot.RetryFailedAfter, c.Hook = 0, 0, domain.HookConfig{}
		}, nil},
		{"redelivery at its bounds", func(c *domain.Config) {
			c.Snapshot.RedeliverAfter, c.Snapshot.RetryFailedAfter = domain.Duration(time.Minute), domain.Duration(7*24*time.Hour)
		}, nil},
		{"redelivery out of bounds", func(c *domain.Config) {
			c.Snapshot.RedeliverAfter, c.Snapshot.RetryFailedAfter = domain.Duration(59*time.Second), domain.Duration(-time.Hour)
		}, []string{"snapshot.redeliverAfter", "snapshot.retryFailedAfter"}},
		{"drift modes", func(c *domain.Config) { c.Snapshot.Drift = domain.DriftReportOnly }, nil},
		{"drift off", func(c *domain.Config) { c.Snapshot.Drift = domain.DriftOff }, nil},
		{"unknown drift mode", func(c *domain.Config) { c.Snapshot.Drift = "fix" }, []string{"snapshot.drift"}},
		{"drift check at its bounds", func(c *domain.Config) { c.Snapshot.DriftEvery = domain.Duration(time.Minute) }, nil},
		{"drift check too often", func(c *domain.Config) { c.Snapshot.DriftEvery = domain.Duration(59 * time.Second) },
			[]string{"snapshot.driftEvery"}},
		{"drift check too rare", func(c *domain.Config) { c.Snapshot.DriftEvery = domain.Duration(7*24*time.Hour + time.Second) },
			[]string{"snapshot.driftEvery"}},
		{"negative brake window", func(c *domain.Config) { c.Hook.RemovalBrake.Window = domain.Duration(-time.Minute) },
			[]string{"hook.removalBrake.window"}},
		{"export before delete", func(c *domain.Config) {
			c.WorkMail.OnLeave.DeleteAfterDays = 14
			c.WorkMail.OnLeave.ExportTo = &domain.MailboxExportTo{Bucket: "idsync-mail-export", Prefix: "workmail/leavers",
				KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
				RoleARN:   "arn:aws:iam::111122223333:role/service-role/idsync-workmail-export"}
		}, nil},
		{"export with 28 days", func(c *domain.Config) {
			c.WorkMail.OnLeave.DeleteAfterDays = domain.MaxExportDeleteAfterDays
			c.WorkMail.OnLeave.ExportTo = &domain.MailboxExportTo{Bucket: "b.example", Prefix: "p",
				KMSKeyARN: "arn:aws:kms:eu-west-1:111122223333:alias/mail", RoleARN: "arn:aws:iam::111122223333:role/r"}
		}, nil},
		{"export after WorkMail removed the mailbox", func(c *domain.Config) {
			c.WorkMail.OnLeave.DeleteAfterDays = 30
			c.WorkMail.OnLeave.ExportTo = &domain.MailboxExportTo{Bucket: "b", Prefix: "p",
				KMSKeyARN: "arn:aws:kms:eu-west-1:111122223333:alias/mail", RoleARN: "arn:aws:iam::111122223333:role/r"}
		}, []string{"workmail.onLeave.deleteAfterDays"}},
		{"export destination outside the model's shapes", func(c *domain.Config) {
			c.WorkMail.OnLeave.DeleteAfterDays = 7
			c.WorkMail.OnLeave.ExportTo = &domain.MailboxExportTo{Bucket: "my_bucket", Prefix: "",
				KMSKeyARN: "arn:aws:iam::111122223333:role/r", RoleARN: "arn:aws:iam::111122223333:"}
		}, []string{"workmail.onLeave.exportTo.bucket", "workmail.onLeave.exportTo.kmsKeyArn",
			"workmail.onLeave.exportTo.prefix", "workmail.onLeave.exportTo.roleArn"}},
		{"export destination too long or with a bad character", func(c *domain.Config) {
			c.WorkMail.OnLeave.DeleteAfterDays = 7
			c.WorkMail.OnLeave.ExportTo = &domain.MailboxExportTo{Bucket: strings.Repeat("b", 64), Prefix: "leavers/ä",
				KMSKeyARN: "arn:aws:kms:eu-west-1:111122223333:key/" + strings.Repeat("k", 1021),
				RoleARN:   "arn:aws:iam::ACCOUNT:role/r"}
		}, []string{"workmail.onLeave.exportTo.bucket", "workmail.onLeave.exportTo.kmsKeyArn",
			"workmail.onLeave.exportTo.prefix", "workmail.onLeave.exportTo.roleArn"}},
		{"export with the disable policy", func(c *domain.Config) {
			c.WorkMail.OnLeave = domain.WorkMailLeave{Action: domain.LeaveDisable, ExportTo: &domain.MailboxExportTo{Bucket: "b", Prefix: "p",
				KMSKeyARN: "arn:aws:kms:eu-west-1:111122223333:alias/mail", RoleARN: "arn:aws:iam::111122223333:role/r"}}
		}, []string{"workmail.onLeave.exportTo"}},
		{"frozen", func(c *domain.Config) { c.WorkMail.Mode = domain.WorkMailFrozen }, nil},
		{"active", func(c *domain.Config) { c.WorkMail.Mode = domain.WorkMailActive }, nil},
		{"unknown mode", func(c *domain.Config) { c.WorkMail.Mode = "readonly" }, []string{"workmail.mode"}},
		{"connect group repeated", func(c *domain.Config) {
			g := c.Connect.Groups[0]
			g.Priority = 99
			c.Connect.Groups = append(c.Connect.Groups, g)
		}, []string{"connect.groups[2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.modify(&cfg)
			err := cfg.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted it, want problems at %v", tt.want)
			}
			if diff := cmp.Diff(tt.want, problemPaths(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}

// A Duration survives a JSON round trip as a duration string.
func TestDurationJSON(t *testing.T) {
	in := domain.SnapshotConfig{IdentityStoreID: "d-9067c53e4f", SettleWindow: domain.Duration(90 * time.Second)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"settleWindow":"1m30s"`) {
		t.Errorf("marshalled %s, want settleWindow \"1m30s\"", b)
	}
	var out domain.SnapshotConfig
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Errorf("round trip: %+v, %v; want %+v", out, err, in)
	}
}

func TestParseConfigDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		say  string
	}{
		{"unknown field", readConfigFile(t, "unknown_field.json"), `unknown field "organisationId"`},
		{"trailing data", append(readConfigFile(t, "minimal.json"), []byte(`{}`)...), "trailing data"},
		{"not JSON", []byte(`snapshot: d-9067c53e4f`), "invalid character"},
		{"wrong type", []byte(`{"snapshot": {"removalCap": {"max": "fifty"}}}`), "cannot unmarshal string"},
		{"settle window not a duration", []byte(`{"snapshot": {"settleWindow": "ten minutes"}}`),
			`duration "ten minutes" must be a Go duration such as "10m"`},
		{"settle window as a number", []byte(`{"snapshot": {"settleWindow": 600}}`), `duration 600 must be a string such as "10m"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := domain.ParseConfig(tt.in)
			if !errors.Is(err, domain.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.say) {
				t.Errorf("ParseConfig error %v, want ErrInvalidConfig saying %q", err, tt.say)
			}
			if cfg.WorkMail != nil || cfg.Snapshot.IdentityStoreID != "" {
				t.Errorf("decode failure returned a config: %+v", cfg)
			}
		})
	}
}

func TestConfigGroups(t *testing.T) {
	cfg, err := domain.ParseConfig(readConfigFile(t, "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		in       domain.GroupRef
		mapped   bool
		resolved domain.GroupRef
	}{
		{"by Okta id", domain.GroupRef{OktaID: fxMail.OktaID}, true, fxMail},
		{"by IdC id", domain.GroupRef{IdCID: fxAgents.IdCID}, true, fxAgents},
		{"IdC-only group", domain.GroupRef{IdCID: fxSupervisors.IdCID}, true, fxSupervisors},
		{"Okta-only group", domain.GroupRef{OktaID: fxMailEU.OktaID, Name: "from hook"}, true, fxMailEU},
		{"unmapped", fxUnmapped, false, fxUnmapped},
		{"no ids", domain.GroupRef{Name: "Mail Users"}, false, domain.GroupRef{Name: "Mail Users"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cfg.GroupMapped(tt.in); got != tt.mapped {
				t.Errorf("GroupMapped = %v, want %v", got, tt.mapped)
			}
			got, ok := cfg.ResolveGroup(tt.in)
			if ok != tt.mapped || got != tt.resolved {
				t.Errorf("ResolveGroup = %+v, %v; want %+v, %v", got, ok, tt.resolved, tt.mapped)
			}
		})
	}

	// A group listed by one id in one place and both in another merges.
	cfg.Connect.Groups[0].GroupRef = domain.GroupRef{OktaID: fxMail.OktaID}
	cfg.Connect.Groups[0].Priority = 30
	cfg.Connect.Groups = append(cfg.Connect.Groups, domain.ConnectGroup{
		GroupRef: fxAgents, SecurityProfileIDs: []string{"sp"}, RoutingProfileID: "rp", Priority: 40,
	})
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := []domain.GroupRef{fxMail, fxMailEU, fxSupervisors, fxAgents}
	if diff := cmp.Diff(want, cfg.MappedGroups()); diff != "" {
		t.Errorf("MappedGroups (-want +got):\n%s", diff)
	}
}

func TestNewTemplateData(t *testing.T) {
	tests := []struct {
		name  string
		facts domain.Profile
		want  domain.TemplateData
	}{
		{
			"full profile",
			fxJaneProfile(),
			domain.TemplateData{
				Login: "jane.doe@example.com", LoginLocal: "jane.doe", LoginDomain: "example.com",
				FirstName: "Jane", LastName: "Doe", DisplayName: "Jane Doe",
				Email: "jane.doe@example.com", EmailLocal: "jane.doe", Domain: "mail.example.com",
			},
		},
		{
			"display name from first and last",
			domain.Profile{Login: ptr("jdoe"), FirstName: ptr("Jane"), LastName: ptr("Doe")},
			domain.TemplateData{Login: "jdoe", LoginLocal: "jdoe", FirstName: "Jane", LastName: "Doe", DisplayName: "Jane Doe", Domain: "mail.example.com"},
		},
		{
			"display name from login",
			domain.Profile{Login: ptr("j.doe+x@corp@example.com")},
			domain.TemplateData{Login: "j.doe+x@corp@example.com", LoginLocal: "j.doe+x@corp", LoginDomain: "example.com", DisplayName: "j.doe+x@corp", Domain: "mail.example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fxFold(domain.Person{}, fxFact(domain.KindProfileChanged, 0, "p", withProfile(tt.facts), withSubject(domain.Subject{OktaID: fxOkta})))
			if diff := cmp.Diff(tt.want, domain.NewTemplateData(p, "mail.example.com")); diff != "" {
				t.Errorf("NewTemplateData (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTargetsAndGroupTargets(t *testing.T) {
	cfg, err := domain.ParseConfig(readConfigFile(t, "full.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Targets(); !slices.Equal(got, []domain.Target{domain.TargetWorkMail, domain.TargetConnect}) {
		t.Errorf("Targets() = %v, want workmail, connect", got)
	}
	for _, tc := range []struct {
		g    domain.GroupRef
		want []domain.Target
	}{
		{fxMail, []domain.Target{domain.TargetWorkMail}},
		{domain.GroupRef{IdCID: fxMail.IdCID}, []domain.Target{domain.TargetWorkMail}},
		{domain.GroupRef{OktaID: fxAgents.OktaID}, []domain.Target{domain.TargetConnect}},
		{fxUnmapped, nil},
		{domain.GroupRef{}, nil},
	} {
		if got := cfg.GroupTargets(tc.g); !slices.Equal(got, tc.want) {
			t.Errorf("GroupTargets(%+v) = %v, want %v", tc.g, got, tc.want)
		}
	}
	cfg.Connect = nil
	if got := cfg.Targets(); !slices.Equal(got, []domain.Target{domain.TargetWorkMail}) {
		t.Errorf("Targets() without connect = %v", got)
	}
}

func TestLeaveOps(t *testing.T) {
	for k, want := range map[domain.OpKind]bool{
		domain.OpDisable: true, domain.OpDelete: true, domain.OpStrip: true,
		domain.OpCreate: false, domain.OpRegister: false, domain.OpEnable: false, domain.OpUpdateAttributes: false,
		domain.OpUpdateEmail: false, domain.OpUpdateIdentity: false, domain.OpUpdateSecurityProfiles: false,
		domain.OpUpdateRoutingProfile: false, domain.OpUpdateHierarchyGroup: false,
	} {
		if k.Leave() != want {
			t.Errorf("%s.Leave() = %v, want %v", k, k.Leave(), want)
		}
	}
	if (domain.Plan{Ops: []domain.Op{{Kind: domain.OpUpdateEmail}}}).Leaves() ||
		!(domain.Plan{Ops: []domain.Op{{Kind: domain.OpUpdateEmail}, {Kind: domain.OpDisable}}}).Leaves() {
		t.Error("Plan.Leaves does not look at every op")
	}
}

// TestParseConfigExportAndMode reads the keys from JSON as documented.
func TestParseConfigExportAndMode(t *testing.T) {
	doc := `{"snapshot": {"identityStoreId": "d-9067c53e4f"},
	  "workmail": {"organizationId": "m-0123456789abcdef0123456789abcdef", "groups": [{"oktaId": "00g1"}], "mode": "frozen",
	    "onLeave": {"action": "delete", "deleteAfterDays": 14, "exportTo": {"bucket": "idsync-mail-export", "prefix": "workmail/",
	      "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	      "roleArn": "arn:aws:iam::111122223333:role/idsync-workmail-export"}}}}`
	cfg, err := domain.ParseConfig([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.WorkMail
	if !w.Frozen() || w.ExportTo() == nil || w.ExportTo().Bucket != "idsync-mail-export" || w.ExportTo().Prefix != "workmail/" ||
		w.ExportTo().RoleARN != "arn:aws:iam::111122223333:role/idsync-workmail-export" {
		t.Errorf("parsed %+v, exportTo %+v", w, w.OnLeave.ExportTo)
	}
	_, err = domain.ParseConfig([]byte(strings.Replace(doc, `"bucket"`, `"bukket"`, 1)))
	if !errors.Is(err, domain.ErrInvalidConfig) || !strings.Contains(err.Error(), `unknown field "bukket"`) {
		t.Errorf("unknown exportTo field: %v", err)
	}
}
