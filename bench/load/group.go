package main

import (
	"context"
	"sync"
)

// group runs goroutines and keeps the first error, cancelling the others' context:
// errgroup, without a new dependency.
type group struct {
	wg     sync.WaitGroup
	once   sync.Once
	err    error
	parent context.Context
	cancel context.CancelFunc
}

// newGroup returns a group and the context its goroutines should use: it ends when one
// of them fails or ctx ends.
func newGroup(ctx context.Context) (*group, context.Context) {
	gctx, cancel := context.WithCancel(ctx)
	return &group{parent: ctx, cancel: cancel}, gctx
}

func (g *group) Go(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.once.Do(func() {
				g.err = err
				g.cancel()
			})
		}
	})
}

// Wait waits for every goroutine and returns the first error, else the parent
// context's.
func (g *group) Wait() error {
	g.wg.Wait()
	g.cancel()
	if g.err != nil {
		return g.err
	}
	return g.parent.Err()
}
