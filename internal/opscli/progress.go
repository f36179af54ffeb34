package opscli

import (
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Progress is a progress bar with counts, rate and ETA, drawn on a
// terminal. A nil *Progress draws nothing, so commands call it
// unconditionally; the CLI passes a writer only when stderr is a terminal
// and the output is a table.
type Progress struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

// NewProgress returns a bar of total steps described by what, drawn on w,
// or nil when w is nil. A total below 0 draws a spinner with a count.
func NewProgress(w io.Writer, total int, what string) *Progress {
	if w == nil {
		return nil
	}
	return &Progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("msg"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)}
}

// Add advances the bar by n.
func (p *Progress) Add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Add(n)
}

// Set moves the bar to n.
func (p *Progress) Set(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Set(n)
}

// SetTotal changes the number of steps.
func (p *Progress) SetTotal(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.ChangeMax(n)
}

// Describe changes the description.
func (p *Progress) Describe(what string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bar.Describe(what)
}

// Finish removes the bar from the terminal.
func (p *Progress) Finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}

// Spin redraws a spinner every 200 ms until the returned stop is called,
// for work whose size is unknown (a snapshot run). It does nothing when w
// is nil.
func Spin(w io.Writer, what string) (stop func()) {
	p := NewProgress(w, -1, what)
	if p == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p.Add(0)
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		p.Finish()
	}
}
