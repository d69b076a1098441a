package engineio

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestSessionAccessors(t *testing.T) {
	sessions := make(chan *Session, 1)
	st := newTestServer(t, nil, func(s *Session) { sessions <- s })
	sid, q := st.open(t)
	s := <-sessions
	if s.ID() != sid || s.Protocol() != 4 || s.Transport() != TransportPolling {
		t.Errorf("id %q protocol %d transport %q", s.ID(), s.Protocol(), s.Transport())
	}
	if !strings.HasPrefix(s.RemoteAddr(), "127.0.0.1:") || s.Request().URL.Query().Get("transport") != "polling" {
		t.Errorf("request %v %v", s.RemoteAddr(), s.Request().URL)
	}
	if s.CloseReason() != "" || s.Err() != nil {
		t.Errorf("open session reports %q %v", s.CloseReason(), s.Err())
	}
	_ = s.Send([]byte("12345"), false)
	if s.Buffered() != 6 {
		t.Errorf("Buffered %d, want 6", s.Buffered())
	}
	st.get(t, q)
	if s.Buffered() != 0 {
		t.Errorf("Buffered %d after the GET", s.Buffered())
	}
	st.post(t, q, "1")
	<-s.Done()
	// OnClose set after the close is called at once.
	var got string
	s.OnClose(func(reason string, err error) { got = reason })
	if got != ReasonTransportClose {
		t.Errorf("late OnClose got %q", got)
	}
}

func TestRequestErrorAndCodes(t *testing.T) {
	cause := errors.New("why")
	e := &RequestError{Code: CodeForbidden, Message: "no", Err: cause}
	if e.Error() != "engineio: no" || !errors.Is(e, cause) {
		t.Errorf("%v", e)
	}
	if CodeForbidden.Status() != http.StatusForbidden || CodeUnknownSID.Status() != http.StatusBadRequest {
		t.Error("statuses")
	}
	if ErrorCode(42).String() != "code 42" || CodeUnsupportedProtocolVersion.String() != "Unsupported protocol version" {
		t.Error("strings")
	}
}
