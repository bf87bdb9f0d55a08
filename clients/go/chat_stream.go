package chutesrpc

import (
	"context"
	"encoding/json"
	"sync"
)

// ChatStream is one chat.stream request: Next() until it returns false, then Result() or Err().
// Deltas are queued from the moment the request is sent, so none is lost. Close() (or cancelling
// the context given to Client.ChatStream) cancels the request upstream; Err() is then an *RPCError
// with Cancelled() true whose Partial() holds what had arrived.
type ChatStream struct {
	id       int64
	streamID string
	cancel   func()

	mu     sync.Mutex
	queue  []ChatDelta
	wake   chan struct{}
	done   chan struct{}
	result *ChatResult
	err    error
	delta  ChatDelta
}

func newChatStream(id int64, streamID string, cancel func()) *ChatStream {
	return &ChatStream{id: id, streamID: streamID, cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// StreamID names the stream in chat.delta notifications.
func (s *ChatStream) StreamID() string { return s.streamID }

// Next waits for the next delta; false once the reply has come (then see Result and Err).
func (s *ChatStream) Next() bool {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			s.delta = s.queue[0]
			s.queue[0] = ChatDelta{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return true
		}
		finished := s.isDone()
		s.mu.Unlock()
		if finished {
			return false
		}
		<-s.wake
	}
}

// Delta is the delta the last Next() returned.
func (s *ChatStream) Delta() ChatDelta { return s.delta }

// Result is the assembled ChatResult once the stream has ended well; nil before, or after an error.
func (s *ChatStream) Result() *ChatResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.result
}

// Err is the error the stream ended with: an *RPCError for an error reply (code -32800 when it
// was cancelled), or an error wrapping ErrClosed when the adapter went away.
func (s *ChatStream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Wait blocks until the reply has come, or ctx is done; it returns what Result and Err return.
func (s *ChatStream) Wait(ctx context.Context) (*ChatResult, error) {
	select {
	case <-s.done:
		return s.Result(), s.Err()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close cancels the stream unless its reply has come, and waits for the reply.
func (s *ChatStream) Close() error {
	select {
	case <-s.done:
	default:
		s.cancel()
		<-s.done
	}
	return nil
}

func (s *ChatStream) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *ChatStream) push(delta ChatDelta) {
	s.mu.Lock()
	s.queue = append(s.queue, delta)
	s.mu.Unlock()
	s.signal()
}

func (s *ChatStream) settle(result json.RawMessage, err error) {
	s.mu.Lock()
	if err == nil {
		var r ChatResult
		if err = json.Unmarshal(result, &r); err == nil {
			s.result = &r
		}
	}
	s.err = err
	close(s.done)
	s.mu.Unlock()
	s.signal()
}

func (s *ChatStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
