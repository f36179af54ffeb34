// Command idsync is the operator CLI.
//
//	idsync local [flags]     run the whole pipeline locally on the stand-ins (make run)
//	idsync audit [flags]     print ledger rows (a person's, the system's, or a time range)
//
// Commands other than local read their settings from the environment, and
// from .local/endpoints.env (written by idsync local) for whatever the
// environment does not set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localstack"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/store"
)

const usage = `usage: idsync <command> [flags]

commands:
  local   run the whole pipeline locally on the embedded stand-ins (Ctrl-C stops it)
  audit   print ledger rows: --person LOGIN|OKTA_ID|IDC_ID, --system, or --from/--to

Run 'idsync <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "idsync:", err)
		if errors.Is(err, opscli.ErrUsage) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return opscli.ErrUsage
	}
	switch args[0] {
	case "local":
		return local(ctx, args[1:], stdout, stderr)
	case "audit":
		return audit(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", opscli.ErrUsage, args[0])
}

func local(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("idsync local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".local", "where endpoints.env is written")
	basePort := fs.Int("base-port", 4610, "first of the stand-ins' consecutive loopback ports (0: any free ports)")
	interval := fs.Duration("snapshot-interval", 10*time.Second, "how often the IdC snapshot runs")
	lag := fs.Duration("mirror-lag", time.Second, "delay of the Okta stand-in's push into IdentityStore")
	keep := fs.Bool("keep-engines", false, "leave DynamoDB Local and fauxqs running on exit (engines that were already running are always left)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	wasRunning := enginesRunning()
	engines, err := startEngines(ctx, stderr)
	if err != nil {
		return err
	}
	if !*keep && !wasRunning {
		defer stopEngines(stderr) // stop only what this run started
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	s, err := localstack.Start(ctx, localstack.Options{
		DynamoDBEndpoint: engines["DYNAMODB_ENDPOINT"], SQSEndpoint: engines["SQS_ENDPOINT"],
		BasePort: *basePort, SnapshotInterval: *interval, MirrorLag: *lag, Dir: *dir, Log: log,
	})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stderr, "\nidsync is running locally. Endpoints (also in %s):\n\n", filepath.Join(*dir, "endpoints.env"))
	for _, kv := range s.Endpoints {
		fmt.Fprintf(stderr, "  %s=%s\n", kv[0], kv[1])
	}
	fmt.Fprintf(stderr, "\nTry: see README.md, \"Local walkthrough\". Ctrl-C stops everything.\n\n")
	<-ctx.Done()
	fmt.Fprintln(stderr, "idsync: stopping")
	return nil
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
			return "", errors.New("scripts/localaws not found: run idsync local from the repository")
		}
		dir = parent
	}
}

func startEngines(ctx context.Context, stderr io.Writer) (map[string]string, error) {
	script, err := repoScript()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, script, "start")
	cmd.Stderr = stderr
	out, err := cmd.Output()
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

func stopEngines(stderr io.Writer) {
	script, err := repoScript()
	if err != nil {
		return
	}
	cmd := exec.Command(script, "stop")
	cmd.Stderr = stderr
	_ = cmd.Run()
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func audit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("idsync audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a opscli.AuditArgs
	var from, to string
	var sources, kinds, targets, outcomes listFlag
	fs.StringVar(&a.Person, "person", "", "a login, Okta user id or IdC user id")
	fs.BoolVar(&a.System, "system", false, "rows about no one person (snapshot runs, undecodable messages)")
	fs.StringVar(&from, "from", "", "start time, RFC 3339 or YYYY-MM-DD (inclusive)")
	fs.StringVar(&to, "to", "", "end time, RFC 3339 or YYYY-MM-DD (exclusive)")
	fs.Var(&sources, "source", "only these sources (okta-hook, idc-snapshot, replay); repeatable or comma-separated")
	fs.Var(&kinds, "kind", "only these event kinds")
	fs.Var(&targets, "target", "only these targets (workmail, connect)")
	fs.Var(&outcomes, "outcome", "only these outcomes (received, applied, skipped, failed, would, snapshot-run)")
	fs.IntVar(&a.Limit, "limit", 0, "print at most this many rows (0: all)")
	fs.BoolVar(&a.JSON, "json", false, "one JSON object per row")
	envFile := fs.String("env-file", ".local/endpoints.env", "settings file used for what the environment does not set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if a.From, err = parseTime(from); err != nil {
		return err
	}
	if a.To, err = parseTime(to); err != nil {
		return err
	}
	for _, s := range sources {
		a.Sources = append(a.Sources, domain.Source(s))
	}
	for _, k := range kinds {
		a.Kinds = append(a.Kinds, domain.Kind(k))
	}
	for _, t := range targets {
		a.Targets = append(a.Targets, domain.Target(t))
	}
	for _, o := range outcomes {
		a.Outcomes = append(a.Outcomes, domain.Outcome(o))
	}
	getenv, err := opscli.LoadEnvFile(*envFile)
	if err != nil {
		return err
	}
	state, ledger := getenv("STATE_TABLE"), getenv("LEDGER_TABLE")
	if state == "" || ledger == "" {
		return fmt.Errorf("%w: STATE_TABLE and LEDGER_TABLE must be set (or run idsync local first)", opscli.ErrUsage)
	}
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: getenv("IDSYNC_LOCAL") == "true", Region: getenv("AWS_REGION")})
	if err != nil {
		return err
	}
	st, err := store.New(store.Options{DB: awsclient.DynamoDB(cfg, getenv("DYNAMODB_ENDPOINT")), StateTable: state, LedgerTable: ledger})
	if err != nil {
		return err
	}
	return opscli.Audit(ctx, st, stdout, a)
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
