package cfapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Cloudflare's API rate limit (developers.cloudflare.com/fundamentals/api/reference/limits/,
// cloudflare/cloudflare-docs src/content/partials/fundamentals/api-rate-limits.mdx):
// "1200 requests per five minute period per user, and applies cumulatively
// regardless of whether the request is made via the dashboard, API key, or
// API token. If you exceed this limit, all API calls for the next five
// minutes will be blocked, receiving a HTTP 429". Retry-After is "the number
// of seconds, rounded up, until more capacity is available" (same page).
const (
	// CloudflareRequestsPer5Minutes is Cloudflare's published budget per user.
	CloudflareRequestsPer5Minutes = 1200
	// BudgetWindow is the length of Cloudflare's rate-limit window (and of
	// its lockout once the budget is exceeded).
	BudgetWindow = 5 * time.Minute
	// DefaultRequestsPer5Minutes is this client's default share: half of
	// Cloudflare's budget, leaving the other half to the dashboard and to
	// other tools using the same user's credentials.
	DefaultRequestsPer5Minutes = CloudflareRequestsPer5Minutes / 2
	// ProgressInterval is how often a long wait (a lockout, a spent budget)
	// logs that it is still waiting.
	ProgressInterval = 30 * time.Second
)

// Clock is the time source of the request budget and of rate-limit waits.
// The zero Config uses the real clock; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// SleepUntil returns when the clock reaches t, or ctx.Err() when ctx
	// ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// budget is a sliding-window request budget shared by every call of one
// client (goroutine-safe): at most limit requests in any window of length
// window. Requests go out at once while the window has room, so a burst of
// up to limit requests is not slowed down. It also holds Cloudflare's
// lockout: after a 429 with Retry-After every request waits until it ends.
type budget struct {
	clock  Clock
	limit  int // <= 0: no window budget (the lockout still applies)
	window time.Duration

	mu          sync.Mutex
	grants      []time.Time // start times of the requests in the current window, oldest first
	lockedUntil time.Time
}

func newBudget(limit int, window time.Duration, clock Clock) *budget {
	return &budget{clock: clock, limit: limit, window: window}
}

// lockout makes every request wait until now+d (Cloudflare blocks every
// call once the budget is exceeded). It never shortens a lockout.
func (b *budget) lockout(d time.Duration) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	until := b.clock.Now().Add(d)
	if until.After(b.lockedUntil) {
		b.lockedUntil = until
	}
	return b.lockedUntil
}

// budgetWaitError: the request would have to wait past the caller's
// deadline (for a lockout or for room in the window); nothing was sent.
type budgetWaitError struct {
	lockout bool
	wait    time.Duration
	until   time.Time
	limit   int
}

func (e *budgetWaitError) Error() string {
	if e.lockout {
		return fmt.Sprintf("Cloudflare's rate-limit lockout lasts %s more (until %s), past this operation's deadline",
			e.wait.Round(time.Second), e.until.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("the request budget (requests_per_5_minutes = %d) has no room for %s (until %s), past this operation's deadline",
		e.limit, e.wait.Round(time.Second), e.until.UTC().Format(time.RFC3339))
}

// take waits until a request may be sent, then counts it. progress is
// called when a wait starts and every ProgressInterval while it lasts. It
// fails at once (with *budgetWaitError) when the wait would outlast ctx's
// deadline, and with ctx.Err() when ctx ends while waiting.
func (b *budget) take(ctx context.Context, progress func(lockout bool, left time.Duration, until time.Time)) error {
	lastLog := time.Time{}
	for {
		b.mu.Lock()
		now := b.clock.Now()
		var until time.Time
		lockout := now.Before(b.lockedUntil)
		switch {
		case lockout:
			until = b.lockedUntil
		case b.limit <= 0:
			b.mu.Unlock()
			return nil
		default:
			cut := now.Add(-b.window)
			i := 0
			for i < len(b.grants) && !b.grants[i].After(cut) {
				i++
			}
			b.grants = b.grants[i:]
			if len(b.grants) < b.limit {
				b.grants = append(b.grants, now)
				b.mu.Unlock()
				return nil
			}
			// Room comes back when the oldest request leaves the window.
			until = b.grants[0].Add(b.window)
		}
		b.mu.Unlock()

		left := until.Sub(now)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < left {
			return &budgetWaitError{lockout: lockout, wait: left, until: until, limit: b.limit}
		}
		if progress != nil && (lastLog.IsZero() || now.Sub(lastLog) >= ProgressInterval) {
			progress(lockout, left, until)
			lastLog = now
		}
		next := until
		if step := now.Add(ProgressInterval); step.Before(next) {
			next = step
		}
		if err := b.clock.SleepUntil(ctx, next); err != nil {
			return err
		}
	}
}

// isBudgetWait reports a *budgetWaitError in err's chain.
func isBudgetWait(err error) (*budgetWaitError, bool) {
	var be *budgetWaitError
	ok := errors.As(err, &be)
	return be, ok
}
