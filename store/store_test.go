package store_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

func TestNewRequiresClientAndTables(t *testing.T) {
	full := store.Options{DB: &dynamodb.Client{}, StateTable: "s", LedgerTable: "l"}
	if _, err := store.New(full); err != nil {
		t.Fatalf("complete options: %v", err)
	}
	for name, mod := range map[string]func(*store.Options){
		"no client":       func(o *store.Options) { o.DB = nil },
		"no state table":  func(o *store.Options) { o.StateTable = "" },
		"no ledger table": func(o *store.Options) { o.LedgerTable = "" },
	} {
		t.Run(name, func(t *testing.T) {
			o := full
			mod(&o)
			st, err := store.New(o)
			if !errors.Is(err, store.ErrInvalid) || domain.KindOf(err) != domain.ErrorPermanent || st != nil {
				t.Errorf("New = %v, %v; want nil and a permanent ErrInvalid", st, err)
			}
		})
	}
}
