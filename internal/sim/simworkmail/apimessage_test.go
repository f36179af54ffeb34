package simworkmail_test

import (
	"errors"

	"github.com/aws/smithy-go"
)

// apiMessage is the service's own message of an SDK error: the stand-in's
// answer as the wire carried it (idsync's clients keep it out of their
// error texts, which name only the operation and the code).
func apiMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return ""
}
