package sioparser_test

import (
	"fmt"

	"github.com/wsio/wsio/sioparser"
)

func Example() {
	// Encode an event with a binary argument: one text message plus one
	// attachment.
	p, _ := sioparser.NewEvent("/chat", "upload", "photo.png", []byte{0x89, 0x50})
	fmt.Printf("%s + %d attachment\n", sioparser.AppendText(nil, p), len(p.Attachments))

	// Decode it again, as a receiver does message by message.
	var d sioparser.Decoder
	got, _ := d.Text(sioparser.AppendText(nil, p))
	fmt.Println(got == nil, d.Pending()) // waits for the attachment
	got, _ = d.Binary(p.Attachments[0])
	name, args, _ := sioparser.ParseEvent(got)
	var file string
	var data []byte
	_ = args.Decode(0, &file)
	_ = args.Decode(1, &data)
	fmt.Println(name, file, data)
	// Output:
	// 51-/chat,["upload","photo.png",{"_placeholder":true,"num":0}] + 1 attachment
	// true true
	// upload photo.png [137 80]
}
