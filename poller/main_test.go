package poller_test

import (
	"os"
	"testing"

	"github.com/wsgate/wsgate/poller"
)

func TestMain(m *testing.M) {
	if err := poller.Setup(poller.Process{}); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
