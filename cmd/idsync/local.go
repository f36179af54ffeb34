//go:build local

package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/internal/localaws"
	"github.com/idsync/idsync/internal/localrun"
)

func newLocal() *cobra.Command {
	var o struct {
		dir           string
		basePort      int
		snapshotEvery time.Duration
		mirrorLag     time.Duration
		keepEngines   bool
	}
	def := 10 * time.Second
	if v := os.Getenv("IDSYNC_SNAPSHOT_EVERY"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			def = d
		}
	}
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run the whole pipeline locally on the embedded stand-ins (make run); Ctrl-C stops it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			wasRunning := localaws.Running()
			engines, err := localaws.Start(ctx, stderr)
			if err != nil {
				return err
			}
			if !o.keepEngines && !wasRunning {
				defer func() { _ = localaws.Stop(stderr) }() // stop only what this run started
			}
			s, err := localrun.Start(ctx, localrun.Options{
				DynamoDBEndpoint: engines.DynamoDB, SQSEndpoint: engines.SQS,
				BasePort: o.basePort, SnapshotEvery: o.snapshotEvery, MirrorLag: o.mirrorLag, Dir: o.dir,
				Log: slog.New(slog.NewJSONHandler(cmd.OutOrStdout(), nil)),
			})
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintf(stderr, "\nidsync is running locally. Endpoints (also in %s):\n\n", filepath.Join(o.dir, "endpoints.env"))
			for _, kv := range s.Endpoints {
				fmt.Fprintf(stderr, "  %s=%s\n", kv[0], kv[1])
			}
			fmt.Fprintf(stderr, "\nTry: see README.md, \"Local walkthrough\". Ctrl-C stops everything.\n\n")
			<-ctx.Done()
			fmt.Fprintln(stderr, "idsync: stopping")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", ".local", "where endpoints.env and config.json are written")
	f.IntVar(&o.basePort, "base-port", 4610, "first of the stand-ins' consecutive loopback ports (0: any free ports)")
	f.DurationVar(&o.snapshotEvery, "snapshot-every", def, "how often the IdC snapshot runs; 0 never (also IDSYNC_SNAPSHOT_EVERY)")
	f.DurationVar(&o.mirrorLag, "mirror-lag", time.Second, "delay of the Okta stand-in's push into IdentityStore")
	f.BoolVar(&o.keepEngines, "keep-engines", false, "leave DynamoDB Local and fauxqs running on exit (engines that were already running are always left)")
	return cmd
}
