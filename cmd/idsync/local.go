//go:build local

package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
			wasRunning := enginesRunning()
			engines, err := startEngines(cmd)
			if err != nil {
				return err
			}
			if !o.keepEngines && !wasRunning {
				defer stopEngines(cmd) // stop only what this run started
			}
			s, err := localrun.Start(ctx, localrun.Options{
				DynamoDBEndpoint: engines["DYNAMODB_ENDPOINT"], SQSEndpoint: engines["SQS_ENDPOINT"],
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

// repoScript finds scripts/localaws from the working directory upwards.
func repoScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getwd: %w", err)
	}
	for {
		p := filepath.Join(dir, "scripts", "localaws")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/localaws not found: run idsync local from the repository")
		}
		dir = parent
	}
}

func startEngines(cmd *cobra.Command) (map[string]string, error) {
	script, err := repoScript()
	if err != nil {
		return nil, err
	}
	c := exec.CommandContext(cmd.Context(), script, "start")
	c.Stderr = cmd.ErrOrStderr()
	out, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("scripts/localaws start: %w", err)
	}
	vals := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			vals[k] = v
		}
	}
	return vals, nil
}

// enginesRunning reports whether scripts/localaws already runs both engines.
func enginesRunning() bool {
	script, err := repoScript()
	if err != nil {
		return false
	}
	return exec.Command(script, "status").Run() == nil
}

func stopEngines(cmd *cobra.Command) {
	script, err := repoScript()
	if err != nil {
		return
	}
	c := exec.Command(script, "stop")
	c.Stderr = cmd.ErrOrStderr()
	_ = c.Run()
}
