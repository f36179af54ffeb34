package domain_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
)

// FuzzNormaliseOktaHook checks NormaliseOktaHook's invariants on arbitrary
// bodies, seeded with every delivery under testdata/okta.
func FuzzNormaliseOktaHook(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "okta", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[null,1,"x",{}]}}`))
	f.Add([]byte(`{"eventType":"com.okta.event_hook","data":{"events":[{"uuid":"a","published":"2024-01-01T00:00:00Z","eventType":"group.user_membership.add","target":[{"id":"00g1","type":"UserGroup"},{"id":"00u1","type":"User"}]}]}}`))

	mapped := func(g domain.GroupRef) bool { return len(g.OktaID)%2 == 0 }
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := domain.NormaliseOktaHook(body, mapped, hookReceivedAt)
		if err != nil {
			if !errors.Is(err, domain.ErrMalformedHook) && !errors.Is(err, domain.ErrUnsupportedHookVersion) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			if k := domain.KindOf(err); k != domain.ErrorPermanent {
				t.Fatalf("error %v classified %v, want permanent", err, k)
			}
			if got.Events != nil || got.Ignored != nil {
				t.Fatalf("non-zero result %+v with error", got)
			}
			return
		}
		var shape struct {
			Data struct {
				Events []json.RawMessage `json:"events"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &shape); err != nil {
			t.Fatalf("body accepted by NormaliseOktaHook but not decodable: %v", err)
		}
		if n, in := len(got.Events)+len(got.Ignored), len(shape.Data.Events); n != in {
			t.Fatalf("%d events + %d ignored for %d data.events", len(got.Events), len(got.Ignored), in)
		}
		ids := make(map[string]bool, len(got.Events))
		for _, e := range got.Events {
			switch {
			case e.ID == "":
				t.Fatalf("event without id: %+v", e)
			case e.Subject.Key() == "":
				t.Fatalf("event without subject key: %+v", e)
			case !e.Kind.Known():
				t.Fatalf("event with unknown kind: %+v", e)
			case e.Source != domain.SourceOktaHook || e.SourceEventID == "":
				t.Fatalf("event without source or source event id: %+v", e)
			case e.ID != domain.NewEventID(domain.SourceOktaHook, e.SourceEventID, e.Subject.Key(), e.OccurredAt):
				t.Fatalf("event id %s is not the deterministic id: %+v", e.ID, e)
			case (e.Kind == domain.KindMemberAdded || e.Kind == domain.KindMemberRemoved) && (e.Group == nil || e.Group.OktaID == "" || !mapped(*e.Group)):
				t.Fatalf("membership event without a mapped group: %+v", e)
			case ids[e.ID]:
				t.Fatalf("two events share id %s", e.ID)
			}
			ids[e.ID] = true
		}
		for _, ig := range got.Ignored {
			if ig.Reason == "" {
				t.Fatalf("ignored without reason: %+v", ig)
			}
		}
		again, err := domain.NormaliseOktaHook(body, mapped, hookReceivedAt)
		if err != nil {
			t.Fatalf("second call failed: %v", err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("not deterministic (-first +second):\n%s", diff)
		}
	})
}
