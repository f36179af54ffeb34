package oktahook_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idsync/idsync/producers/oktahook"
)

// BenchmarkHookCPU is the hook's own work per delivery, with in-memory
// fakes for the ledger, the people, the brake and the queue: reading,
// authenticating and normalising the delivery, and answering. Run with
// -cpu=1, ns/op is its CPU time per delivery.
func BenchmarkHookCPU(b *testing.B) {
	for _, n := range []int{1, 20} {
		b.Run(map[int]string{1: "events=1", 20: "events=20"}[n], func(b *testing.B) {
			cfg := hookConfig()
			h, err := oktahook.New(oktahook.Options{
				GroupMapped: cfg.GroupMapped, Config: cfg, Secrets: staticSecrets{Current: "s3cret"},
				Ledger: nopLedger{}, Publisher: nopPublisher{}, People: nopPeople{}, Brake: nopBrake{},
			})
			if err != nil {
				b.Fatal(err)
			}
			body := delivery(b, n, n)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
				req.Header.Set("Authorization", "s3cret")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("answer %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
