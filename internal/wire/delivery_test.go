package wire_test

import (
	"reflect"
	"testing"

	"github.com/webchatroom/chatroom/internal/wire"
)

// TestDeliveryBinaryRoundTrip: what a gateway publishes is what the others
// read, nil members (everyone) kept apart from an empty list (no one).
func TestDeliveryBinaryRoundTrip(t *testing.T) {
	for _, d := range []wire.Delivery{
		{Frame: []byte(`{"type":"presence","online_count":3}`)},
		{Members: []string{}, Frame: []byte(`{}`)},
		{Members: []string{"u-1", "用户-2"}, ExceptConn: "c-9", Frame: []byte(`{"type":"message","message":{"text":"你好"}}`)},
	} {
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got wire.Delivery
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("decode %+v: %v", d, err)
		}
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("round trip of %+v gave %+v", d, got)
		}
	}
}

// TestDeliveryMalformed: a truncated or garbage delivery is refused, never
// read past its end.
func TestDeliveryMalformed(t *testing.T) {
	good, _ := wire.Delivery{Members: []string{"alice", "bob"}, ExceptConn: "c1", Frame: []byte(`{}`)}.MarshalBinary()
	for _, b := range [][]byte{nil, {0xff}, {0x05, 0x01}, good[:4], {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		var d wire.Delivery
		if err := d.UnmarshalBinary(b); err == nil {
			t.Errorf("decoded %x as %+v; want an error", b, d)
		}
	}
}
