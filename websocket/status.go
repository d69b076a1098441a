package websocket

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// StatusCode is a close status code (RFC 6455 section 7.4).
type StatusCode int

// Close status codes. StatusNoStatusRcvd, StatusAbnormalClosure and
// StatusTLSHandshake are never sent on the wire: they describe a close that
// carried no code, a connection lost without a close frame, and a failed TLS
// handshake.
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusRcvd            StatusCode = 1005
	StatusAbnormalClosure         StatusCode = 1006
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusMandatoryExtension      StatusCode = 1010
	StatusInternalError           StatusCode = 1011
	StatusServiceRestart          StatusCode = 1012
	StatusTryAgainLater           StatusCode = 1013
	StatusBadGateway              StatusCode = 1014
	StatusTLSHandshake            StatusCode = 1015
)

var statusNames = map[StatusCode]string{
	StatusNormalClosure:           "normal closure",
	StatusGoingAway:               "going away",
	StatusProtocolError:           "protocol error",
	StatusUnsupportedData:         "unsupported data",
	StatusNoStatusRcvd:            "no status received",
	StatusAbnormalClosure:         "abnormal closure",
	StatusInvalidFramePayloadData: "invalid frame payload data",
	StatusPolicyViolation:         "policy violation",
	StatusMessageTooBig:           "message too big",
	StatusMandatoryExtension:      "mandatory extension",
	StatusInternalError:           "internal error",
	StatusServiceRestart:          "service restart",
	StatusTryAgainLater:           "try again later",
	StatusBadGateway:              "bad gateway",
	StatusTLSHandshake:            "TLS handshake",
}

// String returns the code's number and its registered name, if any.
func (s StatusCode) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("%d (%s)", int(s), n)
	}
	return fmt.Sprintf("%d", int(s))
}

// validWireCode reports whether code may appear in a close frame: the
// registered codes that are not reserved for local use, and the range
// 3000-4999 for libraries and applications.
func validWireCode(code StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// CloseError is the close frame the peer sent: its code (StatusNoStatusRcvd
// when the frame had no payload) and reason. Read returns it once the peer
// has closed the connection.
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket: closed by peer: %v", e.Code)
	}
	return fmt.Sprintf("websocket: closed by peer: %v: %q", e.Code, e.Reason)
}

// CloseStatus returns the code of the peer's close frame carried by err, or
// -1 when err is not (and does not wrap) a *CloseError.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

// Errors returned by the package. Protocol failures detected on a read wrap
// one of ErrProtocol, ErrInvalidUTF8, ErrInvalidCompressed and
// ErrMessageTooBig; the connection has then been closed with 1002, 1007,
// 1007 or 1009 respectively. Operations on a
// closed connection return errors that wrap net.ErrClosed.
var (
	ErrProtocol         = errors.New("websocket: protocol error")
	ErrInvalidUTF8      = errors.New("websocket: invalid UTF-8 in text message")
	ErrMessageTooBig    = errors.New("websocket: message too big")
	ErrBadHandshake     = errors.New("websocket: bad handshake")
	ErrInvalidCloseCode = errors.New("websocket: invalid close code")
	ErrCloseReason      = errors.New("websocket: close reason longer than 123 bytes or not UTF-8")
	ErrReaderActive     = errors.New("websocket: another goroutine is reading")
	ErrControlTooLong   = errors.New("websocket: control frame payload longer than 125 bytes")
)

// failure is an error detected on this side that failed the connection with
// a close code.
type failure struct {
	code StatusCode
	err  error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func failf(code StatusCode, sentinel error, format string, args ...any) *failure {
	return &failure{code: code, err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}

// parseClosePayload decodes a received close frame's payload.
func parseClosePayload(p []byte) (*CloseError, *failure) {
	switch {
	case len(p) == 0:
		return &CloseError{Code: StatusNoStatusRcvd}, nil
	case len(p) == 1:
		return nil, failf(StatusProtocolError, ErrProtocol, "close frame with a 1-byte payload")
	}
	code := StatusCode(int(p[0])<<8 | int(p[1]))
	if !validWireCode(code) {
		return nil, failf(StatusProtocolError, ErrProtocol, "invalid close code %d", int(code))
	}
	reason := p[2:]
	if !utf8.Valid(reason) {
		return nil, failf(StatusInvalidFramePayloadData, ErrInvalidUTF8, "close reason")
	}
	return &CloseError{Code: code, Reason: string(reason)}, nil
}

// checkClose validates a close code and reason this side wants to send.
func checkClose(code StatusCode, reason string) error {
	if code == StatusNoStatusRcvd {
		if reason != "" {
			return fmt.Errorf("%w: a reason needs a code", ErrCloseReason)
		}
		return nil
	}
	if !validWireCode(code) {
		return fmt.Errorf("%w: %d", ErrInvalidCloseCode, int(code))
	}
	if len(reason) > maxCloseReasonSize || !utf8.ValidString(reason) {
		return ErrCloseReason
	}
	return nil
}
