// Package sioparser encodes and decodes Socket.IO protocol v5 packets: the
// seven packet types, namespaces, acknowledgement ids, JSON payloads and
// binary attachments.
//
// A packet travels as one Engine.IO text message,
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// followed, for BINARY_EVENT and BINARY_ACK, by one binary message per
// attachment; in the payload each attachment is a placeholder
// {"_placeholder":true,"num":N}. NewEvent and NewAck build packets from Go
// values, turning every []byte (at any depth, in slices, maps and structs)
// into an attachment. Decoder reassembles incoming packets and checks them
// as the reference parser does, within Limits. ParseEvent and ParseArgs
// split a payload into arguments that Args decodes on demand into the
// types a handler wants, attachments included.
//
// The package does no I/O.
package sioparser
