package http1

import "errors"

// ProtocolError is a message the codec refuses. Status is the HTTP status the
// proxy should answer with: 400, 413, 414, 431, 501 or 505 for requests, 502
// for anything wrong in a server's response.
type ProtocolError struct {
	Status int
	Msg    string
}

func (e *ProtocolError) Error() string { return "http1: " + e.Msg }

// errStatus returns the status of a *ProtocolError, or 0.
func errStatus(err error) int {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Status
	}
	return 0
}

// perr builds a request-side (status) or response-side (502) error. Response
// parsing reports every defect as 502: the client is owed a Bad Gateway, not
// the server's mistake echoed back.
func perr(resp bool, status int, msg string) *ProtocolError {
	if resp {
		status = 502
	}
	return &ProtocolError{Status: status, Msg: msg}
}

var (
	// errNoProgress guards against readers that return (0, nil) forever.
	errNoProgress = errors.New("http1: reader made no progress")
	// ErrBodyDone is returned by body helpers used after the body ended.
	ErrBodyDone = errors.New("http1: body already consumed")
)
