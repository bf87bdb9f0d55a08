package chutesrpc

import (
	"encoding/json"
	"errors"
	"fmt"
)

// RequestCancelled is the code of the error reply to a request cancelled with $/cancelRequest.
const RequestCancelled = -32800

// ErrClosed is returned (wrapped, with the exit status and the end of stderr) when the adapter's
// output ended while a reply was still awaited.
var ErrClosed = errors.New("chutes-rpc: the adapter's output ended")

// RPCError is an error reply. Provider errors carry type, resolution and retryable in data; they
// are lifted out here.
type RPCError struct {
	Code       int
	Message    string
	Type       string
	Resolution string
	Retryable  *bool
	// Data is the error's data as sent; for a cancelled or broken stream, data.partial holds the
	// message assembled so far (see Partial).
	Data json.RawMessage
}

func (e *RPCError) Error() string {
	if e.Resolution != "" {
		return fmt.Sprintf("%d %s (%s)", e.Code, e.Message, e.Resolution)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// Cancelled says whether the request was cancelled ($/cancelRequest, a cancelled context, Close).
func (e *RPCError) Cancelled() bool { return e.Code == RequestCancelled }

// Partial is data.partial: the assistant message assembled before a stream was cancelled or broke.
func (e *RPCError) Partial() *AssistantMessage {
	var data struct {
		Partial *AssistantMessage `json:"partial"`
	}
	if json.Unmarshal(e.Data, &data) != nil {
		return nil
	}
	return data.Partial
}

type rpcErrorObject struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func newRPCError(obj *rpcErrorObject) *RPCError {
	e := &RPCError{Code: obj.Code, Message: obj.Message, Data: obj.Data}
	var data struct {
		Type       string `json:"type"`
		Resolution string `json:"resolution"`
		Retryable  *bool  `json:"retryable"`
	}
	if json.Unmarshal(obj.Data, &data) == nil {
		e.Type, e.Resolution, e.Retryable = data.Type, data.Resolution, data.Retryable
	}
	return e
}
