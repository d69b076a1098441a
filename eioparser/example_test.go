package eioparser_test

import (
	"fmt"

	"github.com/wsio/wsio/eioparser"
)

func Example() {
	payload := eioparser.AppendPayload(nil, []eioparser.Packet{
		{Type: eioparser.PacketMessage, Data: []byte("hello")},
		{Type: eioparser.PacketMessage, Data: []byte{1, 2, 3, 4}, Binary: true},
	})
	fmt.Printf("%q\n", payload)
	packets, err := eioparser.DecodePayload(payload, eioparser.Limits{})
	fmt.Println(len(packets), packets[1].Binary, err)
	// Output:
	// "4hello\x1ebAQIDBA=="
	// 2 true <nil>
}
