package lambdart

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// The account's concurrency is shared by the functions without a reservation: past
// it an invoke is TooManyRequestsException with Reason
// ConcurrentInvocationLimitExceeded, while a function with reserved concurrency
// keeps its own.
func TestAccountConcurrencyThrottles(t *testing.T) {
	a, c := testFunction("a"), testFunction("c")
	r := testFunction("r")
	r.ReservedConcurrency = 1
	// 3 for the account, 1 of it reserved: a and c share 2.
	s, _ := newService(t, Options{MaxConcurrency: 8, AccountConcurrency: 3}, a, c, r)
	b := newBarrier(t)
	var wg sync.WaitGroup
	for _, name := range []string{"a", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Invoke(context.Background(), name, []byte(b.payload())); err != nil {
				t.Errorf("Invoke %s: %v", name, err)
			}
		}()
	}
	b.await(t, 2)
	te := invokeTaskError(t, s, "a", `{}`)
	if te.Name != "Lambda.TooManyRequestsException" {
		t.Errorf("invoke past the account's concurrency: %s: %s", te.Name, te.Cause)
	}
	_, serr := s.invokeSync(context.Background(), s.fns["c"], []byte(`{}`), "")
	var se *serviceError
	if !errors.As(serr, &se) || se.Reason != "ConcurrentInvocationLimitExceeded" {
		t.Errorf("reason: %v", serr)
	}
	if _, err := s.Invoke(context.Background(), "r", []byte(`{}`)); err != nil {
		t.Errorf("the reserved function was throttled by the others: %v", err)
	}
	b.open()
	wg.Wait()
}
