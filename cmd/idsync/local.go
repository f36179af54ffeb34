//go:build local

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/internal/localaws"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simokta"
)

func newLocal() *cobra.Command {
	var o struct {
		dir           string
		prefix        string
		basePort      int
		snapshotEvery time.Duration
		mirrorLag     time.Duration
		keepEngines   bool
		json          bool
		hookFaults    bool
	}
	def := 10 * time.Second
	if v := os.Getenv(settings.EnvLocalSnapshotEvery); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run the whole pipeline locally on the embedded stand-ins (make run); Ctrl-C stops it",
		Long: `Run the whole pipeline locally on the embedded stand-ins (make run).

The terminal shows a live feed: one line per fact received and one per
target's outcome of it (time, login, what happened, what each target did).
The JSON logs go to <dir>/logs/idsync.jsonl (idsync) and
<dir>/logs/okta.jsonl (the Okta stand-in). DynamoDB Local and fauxqs are
those DYNAMODB_ENDPOINT and SQS_ENDPOINT name when both answer, else
scripts/localaws starts them (and stops them on exit). Ctrl-C stops
everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			logDir := filepath.Join(o.dir, "logs")
			feed, err := localrun.NewFeed(localrun.FeedOptions{Terminal: cmd.OutOrStdout(), Dir: logDir})
			if err != nil {
				return err
			}
			defer func() { _ = feed.Close() }()
			log := slog.New(feed.Handler())
			if o.json {
				log = slog.New(slog.NewJSONHandler(cmd.OutOrStdout(), nil))
			}
			engines, given := enginesFromEnv(ctx)
			if !given {
				wasRunning := localaws.Running()
				engines, err = localaws.Start(ctx, stderr)
				if err != nil {
					return err
				}
				if !o.keepEngines && !wasRunning {
					defer func() { _ = localaws.Stop(stderr) }() // stop only what this run started
				}
			}
			var faults simokta.HookFaults
			if o.hookFaults {
				faults = localrun.DefaultHookFaults()
			}
			s, err := localrun.Start(ctx, localrun.Options{
				DynamoDBEndpoint: engines.DynamoDB, SQSEndpoint: engines.SQS, Prefix: o.prefix, RequireIdCAssignment: true,
				BasePort: o.basePort, SnapshotEvery: o.snapshotEvery, MirrorLag: o.mirrorLag, Dir: o.dir,
				Log: log, HookFaults: faults,
			})
			if err != nil {
				return err
			}
			defer s.Close()
			feed.Attach(s.Store, s.Config)
			fmt.Fprintf(stderr, "\nidsync is running locally. Endpoints (also in %s):\n\n", filepath.Join(o.dir, "endpoints.env"))
			for _, kv := range s.Endpoints {
				fmt.Fprintf(stderr, "  %s=%s\n", kv[0], kv[1])
			}
			if o.hookFaults {
				fmt.Fprintf(stderr, "\nOkta hook delivery faults on: %.0f %% duplicated, %.0f %% reordered, %.0f %% dropped (--hook-faults=false turns them off)\n",
					100*faults.DuplicateRate, 100*faults.ReorderRate, 100*faults.DropRate)
			}
			fmt.Fprintf(stderr, "\nJSON logs: %s, %s\n", filepath.Join(logDir, localrun.IdsyncLogFile), filepath.Join(logDir, localrun.OktaLogFile))
			fmt.Fprintf(stderr, "Try: see README.md, \"Local walkthrough\". Ctrl-C stops everything.\n\n")
			<-ctx.Done()
			fmt.Fprintln(stderr, "idsync: stopping")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", ".local", "where endpoints.env, config.json and logs/ are written")
	f.StringVar(&o.prefix, "prefix", "idsync-local", "names the tables and queues, which are recreated empty")
	f.IntVar(&o.basePort, "base-port", 4610, "first of the stand-ins' six consecutive loopback ports (0: any free ports)")
	f.DurationVar(&o.snapshotEvery, "snapshot-every", def, "how often the IdC snapshot runs; 0 never (also IDSYNC_SNAPSHOT_EVERY)")
	f.DurationVar(&o.mirrorLag, "mirror-lag", time.Second, "delay of the Okta stand-in's push into IdentityStore")
	f.BoolVar(&o.keepEngines, "keep-engines", false, "leave DynamoDB Local and fauxqs running on exit (engines that were already running are always left)")
	f.BoolVar(&o.json, "json", false, "print the JSON log lines on the terminal instead of the feed")
	f.BoolVar(&o.hookFaults, "hook-faults", true, "the Okta stand-in duplicates (5 %), reorders (5 %) and drops (1 %) hook deliveries, as Okta's at-least-once, unordered delivery may; false for demos")
	return cmd
}

// enginesFromEnv returns the engines DYNAMODB_ENDPOINT and SQS_ENDPOINT
// name when both are set and answer (engines someone else runs, which this
// run then never stops), as the tests do.
func enginesFromEnv(ctx context.Context) (localaws.Endpoints, bool) {
	e := localaws.Endpoints{DynamoDB: os.Getenv(settings.EnvDynamoDBEndpoint), SQS: os.Getenv(settings.EnvSQSEndpoint)}
	if e.DynamoDB == "" || e.SQS == "" {
		return e, false
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for _, u := range []string{e.DynamoDB, e.SQS} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return e, false
		}
		resp, err := client.Do(req)
		if err != nil {
			return e, false
		}
		_ = resp.Body.Close()
	}
	return e, true
}
