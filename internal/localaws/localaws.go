// Package localaws drives scripts/localaws, which installs and runs the
// local AWS engines (DynamoDB Local and fauxqs), from Go: the local runner
// and the integration tests start the engines through it.
package localaws

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/idsync/idsync/internal/settings"
)

// ErrNoScript: scripts/localaws is not in the working directory or above
// it (the command was not run from the repository).
var ErrNoScript = errors.New("scripts/localaws not found above the working directory")

// Endpoints are the running engines' endpoints.
type Endpoints struct {
	DynamoDB, SQS string
}

// Script returns the path of scripts/localaws, looked up from the working
// directory upwards.
//
// Errors: ErrNoScript; the working directory's.
func Script() (string, error) {
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
			return "", ErrNoScript
		}
		dir = parent
	}
}

// Start installs the engines when missing, starts them unless they run
// already, and returns their endpoints. Progress goes to stderr.
// Idempotent: a second Start reuses the running engines.
//
// Errors: ErrNoScript; the script's failure with what it printed.
func Start(ctx context.Context, stderr io.Writer) (Endpoints, error) {
	script, err := Script()
	if err != nil {
		return Endpoints{}, err
	}
	var out, errs bytes.Buffer
	cmd := exec.CommandContext(ctx, script, "start")
	cmd.Stdout, cmd.Stderr = &out, io.MultiWriter(&errs, stderr)
	if err := cmd.Run(); err != nil {
		return Endpoints{}, fmt.Errorf("scripts/localaws start: %w: %s", err, strings.TrimSpace(errs.String()))
	}
	var e Endpoints
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		switch k, v, _ := strings.Cut(strings.TrimSpace(sc.Text()), "="); k {
		case settings.EnvDynamoDBEndpoint:
			e.DynamoDB = v
		case settings.EnvSQSEndpoint:
			e.SQS = v
		}
	}
	if e.DynamoDB == "" || e.SQS == "" {
		return Endpoints{}, fmt.Errorf("scripts/localaws start printed no endpoints: %q", out.String())
	}
	return e, nil
}

// Running reports whether scripts/localaws runs both engines.
func Running() bool {
	script, err := Script()
	if err != nil {
		return false
	}
	return exec.Command(script, "status").Run() == nil
}

// Stop stops the engines scripts/localaws started; progress goes to
// stderr. Stopping what is not running is not an error.
//
// Errors: ErrNoScript; the script's failure.
func Stop(stderr io.Writer) error {
	script, err := Script()
	if err != nil {
		return err
	}
	cmd := exec.Command(script, "stop")
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("scripts/localaws stop: %w", err)
	}
	return nil
}
