package engineio

import (
	"errors"
	"net/http"
	"strconv"
)

// ErrorCode is an Engine.IO handshake error code, sent to the client in a
// JSON body {"code":N,"message":"..."}.
type ErrorCode int

// The error codes of the protocol, with Node's messages.
const (
	CodeUnknownTransport           ErrorCode = 0 // "Transport unknown"
	CodeUnknownSID                 ErrorCode = 1 // "Session ID unknown"
	CodeBadHandshakeMethod         ErrorCode = 2 // "Bad handshake method"
	CodeBadRequest                 ErrorCode = 3 // "Bad request"
	CodeForbidden                  ErrorCode = 4 // "Forbidden"
	CodeUnsupportedProtocolVersion ErrorCode = 5 // "Unsupported protocol version"
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// String returns the code's message, as Node words it.
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(codeMessages) {
		return codeMessages[c]
	}
	return "code " + strconv.Itoa(int(c))
}

// Status returns the HTTP status Node answers with: 403 for Forbidden,
// 400 otherwise.
func (c ErrorCode) Status() int {
	if c == CodeForbidden {
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// RequestError is a refused request, as reported to Options-independent
// observers through Server.OnConnectionError.
type RequestError struct {
	Code    ErrorCode
	Message string        // the message sent to the client
	Request *http.Request // the refused request
	Err     error         // the cause, when there is one (AllowRequest's error, ...)
}

// Error implements error.
func (e *RequestError) Error() string {
	return "engineio: " + e.Message
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// Close reasons, as Node's engine.io names them. Session.CloseReason returns
// one of these strings, and OnClose receives it.
const (
	ReasonTransportClose  = "transport close"      // the client closed the transport or went away
	ReasonTransportError  = "transport error"      // the transport failed or the client broke a rule
	ReasonPingTimeout     = "ping timeout"         // no pong within PingTimeout
	ReasonForcedClose     = "forced close"         // Session.Close
	ReasonParseError      = "parse error"          // the client sent an undecodable packet
	ReasonServerShutdown  = "server shutting down" // Server.Shutdown
	ReasonWriteBufferFull = "write buffer full"    // more than MaxBufferedBytes queued
)

// Errors that describe why a session closed; Session.Err wraps one of them
// (or a transport error) and errors.Is matches them.
var (
	ErrClosed          = errors.New("engineio: session closed")
	ErrPingTimeout     = errors.New("engineio: ping timeout")
	ErrBufferFull      = errors.New("engineio: write buffer full")
	ErrPollOverlap     = errors.New("engineio: overlapping polling requests")
	ErrInvalidContent  = errors.New("engineio: invalid polling content type")
	ErrPayloadTooLarge = errors.New("engineio: payload larger than maxHttpBufferSize")
	ErrPollAborted     = errors.New("engineio: polling request closed prematurely")
	ErrHeartbeatDir    = errors.New("engineio: invalid heartbeat direction")
	ErrServerClosed    = errors.New("engineio: server shutting down")
)
