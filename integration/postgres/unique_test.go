package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"

	"github.com/parlae/sikka-connect/integration"
)

// sqlStateError stands for a driver's error type other than lib/pq's (pgx's
// *pgconn.PgError has the same method).
type sqlStateError struct{ code string }

func (e *sqlStateError) Error() string    { return "driver error " + e.code }
func (e *sqlStateError) SQLState() string { return e.code }

// A unique violation is already_connected whatever the driver: any error in
// the chain that reports SQLSTATE 23505.
func TestMapWriteErrorAnyDriver(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"other driver 23505":         {&sqlStateError{"23505"}, true},
		"other driver 23505 wrapped": {fmt.Errorf("exec: %w", &sqlStateError{"23505"}), true},
		"other driver 23503":         {&sqlStateError{"23503"}, false},
		"lib/pq on the index":        {&pq.Error{Code: "23505", Constraint: activeOfficeIndex}, true},
		"lib/pq unnamed":             {&pq.Error{Code: "23505"}, true},
		"lib/pq other constraint":    {&pq.Error{Code: "23505", Constraint: "some_other_index"}, false},
		"lib/pq other code":          {&pq.Error{Code: "40001"}, false},
		"plain error":                {errors.New("23505"), false},
	} {
		err := mapWriteError("upsert record", tc.err)
		if tc.want {
			assert.Equal(t, integration.ErrAlreadyConnected, err, name)
		} else {
			assert.NotErrorIs(t, err, integration.ErrAlreadyConnected, name)
			assert.ErrorIs(t, err, tc.err, "%s: the cause stays in the chain", name)
		}
	}
}
