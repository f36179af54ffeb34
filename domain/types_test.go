package domain_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
)

// differentValue returns a non-zero value of type t, or false when the test
// does not know how to make one (a field of a new type: extend it).
func differentValue(t reflect.Type) (reflect.Value, bool) {
	v := reflect.New(t).Elem()
	switch {
	case t == reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Date(2024, 5, 15, 8, 0, 0, 0, time.UTC)))
	case t.Kind() == reflect.String:
		v.SetString("x")
	case t.Kind() == reflect.Bool:
		v.SetBool(true)
	case t.Kind() == reflect.Int64, t.Kind() == reflect.Int:
		v.SetInt(1)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		s := reflect.MakeSlice(t, 1, 1)
		s.Index(0).SetString("x")
		v.Set(s)
	default:
		return reflect.Value{}, false
	}
	return v, true
}

// TestTargetStateEqualSeesEveryField sets each field of TargetState in turn
// on one side only: Equal must notice every field but Version. A field
// added to TargetState and forgotten in Equal fails here.
func TestTargetStateEqualSeesEveryField(t *testing.T) {
	typ := reflect.TypeFor[domain.TargetState]()
	for i := range typ.NumField() {
		field := typ.Field(i)
		t.Run(field.Name, func(t *testing.T) {
			v, ok := differentValue(field.Type)
			if !ok {
				t.Fatalf("no test value for TargetState.%s of type %s: extend differentValue", field.Name, field.Type)
			}
			var a, b domain.TargetState
			reflect.ValueOf(&b).Elem().Field(i).Set(v)
			want := field.Name == "Version" // the only field Equal ignores
			if got := a.Equal(b); got != want {
				t.Errorf("zero.Equal(zero but %s set) = %v, want %v", field.Name, got, want)
			}
			if got := b.Equal(a); got != want {
				t.Errorf("(zero but %s set).Equal(zero) = %v, want %v", field.Name, got, want)
			}
			if !b.Equal(b) {
				t.Errorf("a state with %s set is not Equal to itself", field.Name)
			}
		})
	}
}

func TestTargetStateEqual(t *testing.T) {
	at := time.Date(2024, 5, 15, 8, 0, 0, 0, time.UTC)
	base := domain.TargetState{
		Target: domain.TargetConnect, Managed: true, RemoteID: "cn-1", Status: domain.RemoteEnabled,
		Name: "ada", Email: "ada@example.com", SecurityProfileIDs: []string{"sp-a", "sp-b"},
		RoutingProfileID: "rp-1", DisabledAt: at, Version: 3,
	}
	for _, tc := range []struct {
		name  string
		other func(s domain.TargetState) domain.TargetState
		want  bool
	}{
		{"same facts, other version", func(s domain.TargetState) domain.TargetState { s.Version = 9; return s }, true},
		{"DisabledAt the same instant elsewhere", func(s domain.TargetState) domain.TargetState {
			s.DisabledAt = at.In(time.FixedZone("CEST", 2*60*60))
			return s
		}, true},
		{"security profiles in another order", func(s domain.TargetState) domain.TargetState {
			s.SecurityProfileIDs = []string{"sp-b", "sp-a"}
			return s
		}, false},
		{"one security profile fewer", func(s domain.TargetState) domain.TargetState {
			s.SecurityProfileIDs = []string{"sp-a"}
			return s
		}, false},
		{"DisabledAt a nanosecond later", func(s domain.TargetState) domain.TargetState {
			s.DisabledAt = at.Add(time.Nanosecond)
			return s
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := tc.other(base)
			if got := base.Equal(other); got != tc.want {
				t.Errorf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
	var none, empty domain.TargetState
	empty.SecurityProfileIDs = []string{}
	if !none.Equal(empty) {
		t.Error("a nil security profile list is not Equal to an empty one")
	}
}
