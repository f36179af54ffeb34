package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/settings"
)

func newAudit(g *globals) *cobra.Command {
	var a opscli.AuditArgs
	var from, to string
	var sources, kinds, targets, outcomes []string
	cmd := &cobra.Command{
		Use:   "audit (--person LOGIN|OKTA_ID|IDC_ID | --system | --from T [--to T]) [filters]",
		Short: "Print ledger rows: a person's, the system's, or everyone's in a time range",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.Format, err = opscli.ParseFormat(g.output); err != nil {
				return err
			}
			if a.From, err = parseTime(from); err != nil {
				return err
			}
			if a.To, err = parseTime(to); err != nil {
				return err
			}
			a.Sources, a.Kinds = convert[domain.Source](sources), convert[domain.Kind](kinds)
			a.Targets, a.Outcomes = convert[domain.Target](targets), convert[domain.Outcome](outcomes)
			st, err := operatorApp(cmd, g)
			if err != nil {
				return err
			}
			return opscli.Audit(cmd.Context(), st.Store, cmd.OutOrStdout(), a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Person, "person", "", "a login, Okta user id or IdC user id")
	f.BoolVar(&a.System, "system", false, "rows about no one person (snapshot runs, undecodable messages)")
	f.StringVar(&from, "from", "", "start time, RFC 3339 or YYYY-MM-DD (inclusive)")
	f.StringVar(&to, "to", "", "end time, RFC 3339 or YYYY-MM-DD (exclusive)")
	f.StringSliceVar(&sources, "source", nil, "only these sources (okta-hook, idc-snapshot, replay)")
	f.StringSliceVar(&kinds, "kind", nil, "only these event kinds")
	f.StringSliceVar(&targets, "target", nil, "only these targets (workmail, connect)")
	f.StringSliceVar(&outcomes, "outcome", nil, "only these outcomes (received, applied, skipped, failed, would, snapshot-run)")
	f.IntVar(&a.Limit, "limit", 0, "print at most this many rows (0: all)")
	return cmd
}

// operatorApp builds the App an operator command works through, from the
// environment and the settings file.
func operatorApp(cmd *cobra.Command, g *globals) (*app.App, error) {
	getenv, err := settings.LoadFile(g.envFile, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", opscli.ErrUsage, err)
	}
	s, err := settings.FromEnv(getenv, settings.Operator)
	if err != nil {
		return nil, fmt.Errorf("%w: %w (set them, or run make run first for %s)", opscli.ErrUsage, err, g.envFile)
	}
	return app.New(cmd.Context(), app.Options{Settings: s, Component: settings.Operator})
}

func convert[T ~string](vs []string) []T {
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = T(v)
	}
	return out
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: %q is not RFC 3339 or YYYY-MM-DD", opscli.ErrUsage, s)
}
