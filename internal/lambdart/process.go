package lambdart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Listen serves the Server on a loopback port and returns its host:port,
// the value of AWS_LAMBDA_RUNTIME_API. It is idempotent: later calls return
// the same address.
//
// Errors: ErrClosed after Close; net.Listen's.
func (s *Server) Listen() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		return "", ErrClosed
	default:
	}
	if s.addr != "" {
		return s.addr, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("lambdart: listen: %w", err)
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	srv := s.http
	go func() { _ = srv.Serve(ln) }()
	s.addr = ln.Addr().String()
	return s.addr, nil
}

// Close stops serving (when Listen served it) and fails every queued or
// running Invoke with ErrClosed. It does not stop processes started by
// RunBinary: close those first. Idempotent; it never fails.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closed) })
	s.mu.Lock()
	srv := s.http
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	return nil
}

// Process is a bootstrap binary running against a Server.
type Process struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	done           chan struct{}
	err            error // cmd.Wait's, set before done is closed
	closing        sync.Once
}

// RunBinary serves the Server (see Listen) and starts the binary at path
// with a Lambda-like environment: AWS_LAMBDA_RUNTIME_API, _HANDLER,
// AWS_LAMBDA_FUNCTION_NAME/VERSION/MEMORY_SIZE, AWS_LAMBDA_LOG_GROUP_NAME,
// AWS_LAMBDA_LOG_STREAM_NAME, AWS_REGION, AWS_DEFAULT_REGION, placeholder
// AWS credentials, LAMBDA_TASK_ROOT, TZ, LANG and PATH, and nothing
// inherited from this process. env ("KEY=value" entries) adds to it and
// overrides it. The working directory is the binary's. stdout and stderr
// are captured. The process is killed when ctx ends or on Close; once it
// exits, Invokes waiting on it fail with ErrRuntimeExited.
//
// One process at a time: RunBinary refuses to start a second while the
// first runs. Errors: Listen's, exec's (a missing or non-executable
// binary), and the refusal.
func (s *Server) RunBinary(ctx context.Context, path string, env []string) (*Process, error) {
	addr, err := s.Listen()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("lambdart: binary path: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt := s.runtime; rt != nil {
		select {
		case <-rt.gone:
		default:
			return nil, errors.New("lambdart: a runtime process is already running on this server")
		}
	}
	dir := filepath.Dir(abs)
	base := []string{
		"AWS_LAMBDA_RUNTIME_API=" + addr,
		"_HANDLER=" + filepath.Base(abs),
		"AWS_LAMBDA_FUNCTION_NAME=" + s.name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + s.name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + s.now().UTC().Format("2006/01/02") + "/[$LATEST]" + strings.ReplaceAll(s.newID(), "-", ""),
		"AWS_REGION=" + s.region,
		"AWS_DEFAULT_REGION=" + s.region,
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"LAMBDA_TASK_ROOT=" + dir,
		"LAMBDA_RUNTIME_DIR=" + dir,
		"TZ=:UTC",
		"LANG=en_US.UTF-8",
		"PATH=/usr/local/bin:/usr/bin:/bin",
	}
	cmd := exec.CommandContext(ctx, abs)
	cmd.Dir = dir
	cmd.Env = mergeEnv(base, env)
	cmd.WaitDelay = 2 * time.Second // a grandchild holding the output pipes must not hang Wait
	p := &Process{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lambdart: start %s: %w", abs, err)
	}
	rt := &runtimeState{gone: make(chan struct{})}
	s.runtime = rt
	go func() {
		err := cmd.Wait()
		status := "exit status 0"
		if err != nil {
			status = err.Error()
		}
		p.err = err
		rt.err = fmt.Errorf("%w: %s; stderr ends: %s", ErrRuntimeExited, status, tail(p.stderr.String(), 2048))
		// The server learns first, so that once Close (which waits on
		// p.done) returns, RunBinary may start the next process.
		close(rt.gone)
		close(p.done)
	}()
	return p, nil
}

// mergeEnv returns base with over's entries replacing same-named ones and
// the others appended, in order.
func mergeEnv(base, over []string) []string {
	out := append([]string(nil), base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range over {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// Pid is the process id (for reading its /proc entries, such as its peak
// resident memory).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stdout returns what the process wrote to stdout so far.
func (p *Process) Stdout() string { return p.stdout.String() }

// Stderr returns what the process wrote to stderr so far.
func (p *Process) Stderr() string { return p.stderr.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr returns how the process exited (nil for status 0), once Done is
// closed; before that it returns nil.
func (p *Process) ExitErr() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Close kills the process (SIGKILL, as Lambda ends an environment) and
// waits until it has exited. Idempotent; it never fails (a process that
// already exited is left as it is).
func (p *Process) Close() error {
	p.closing.Do(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
		}
	})
	<-p.done
	return nil
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
