// Package chutesrpc embeds chutes-rpc, the Chutes AI inference service over JSON-RPC 2.0 on stdio,
// in a Go program: it starts the adapter, speaks its framing, routes replies and notifications,
// cancels through contexts, and shuts the adapter down. Standard library only.
package chutesrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Options says how to start the adapter.
type Options struct {
	// Command is the program and leading arguments that start chutes-rpc, e.g.
	// {"node", "/path/to/bin/chutes-rpc"}. Empty: see AdapterCommand.
	Command []string
	// Args follow `serve`, e.g. {"--replay", "demo.json"}.
	Args []string
	// Framing is NDJSON (default) or LSP; it is passed as --framing unless Args name one.
	Framing Framing
	// Env is the adapter's whole environment (KEY=value); nil means this process's.
	Env []string
	// Dir is the adapter's working directory; empty means this process's.
	Dir string
	// CloseTimeout bounds Close's wait for a clean exit before the adapter is killed; default 5 s.
	CloseTimeout time.Duration
}

// NotificationHandler receives a notification's method and params, on the reader goroutine.
type NotificationHandler func(method string, params json.RawMessage)

type response struct {
	result json.RawMessage
	err    error
}

// Client talks to one adapter process. Its methods are safe for concurrent use.
type Client struct {
	cmd          *exec.Cmd
	stdin        io.WriteCloser
	framing      Framing
	closeTimeout time.Duration
	stderr       *tailBuffer

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan response
	streams map[string]*ChatStream
	notes   []NotificationHandler
	closed  error

	readerDone chan struct{}
	exited     chan struct{}
	closeOnce  sync.Once
}

// Start starts the adapter. ctx bounds the start only: the adapter runs until Close.
func Start(ctx context.Context, opts Options) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	command := opts.Command
	if len(command) == 0 {
		found, err := AdapterCommand()
		if err != nil {
			return nil, err
		}
		command = found
	}
	framing := opts.Framing
	if framing == "" {
		framing = NDJSON
	}
	if framing != NDJSON && framing != LSP {
		return nil, fmt.Errorf("chutes-rpc: unknown framing %q", framing)
	}
	args := append(append([]string{}, command[1:]...), "serve")
	if !namesFraming(opts.Args) {
		args = append(args, "--framing", string(framing))
	}
	args = append(args, opts.Args...)
	cmd := exec.Command(command[0], args...)
	cmd.Env, cmd.Dir = opts.Env, opts.Dir
	c := &Client{
		cmd:          cmd,
		framing:      framing,
		closeTimeout: opts.CloseTimeout,
		stderr:       &tailBuffer{limit: 64 * 1024},
		pending:      map[int64]chan response{},
		streams:      map[string]*ChatStream{},
		readerDone:   make(chan struct{}),
		exited:       make(chan struct{}),
	}
	if c.closeTimeout <= 0 {
		c.closeTimeout = 5 * time.Second
	}
	cmd.Stderr = c.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("chutes-rpc: starting %s: %w", strings.Join(command, " "), err)
	}
	c.stdin = stdin
	go c.read(stdout)
	go func() {
		// Wait closes the pipes: only after the reader has seen the end of the output.
		<-c.readerDone
		_ = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

func namesFraming(args []string) bool {
	for _, a := range args {
		if a == "--framing" || strings.HasPrefix(a, "--framing=") {
			return true
		}
	}
	return false
}

// PID is the adapter's process id.
func (c *Client) PID() int { return c.cmd.Process.Pid }

// ExitCode is the adapter's exit code once it has exited (-1 if it was killed); -1 before.
func (c *Client) ExitCode() int {
	select {
	case <-c.exited:
		return c.cmd.ProcessState.ExitCode()
	default:
		return -1
	}
}

// Stderr is the end (64 KiB) of what the adapter wrote to stderr, which is drained all the time.
func (c *Client) Stderr() string { return c.stderr.String() }

// Call sends a request and decodes its result into result (unless nil). An error reply is an
// *RPCError. When ctx is done first, the request is cancelled ($/cancelRequest) and ctx.Err()
// returned.
func (c *Client) Call(ctx context.Context, method string, params any, result any) error {
	id, replies, err := c.request(method, params, nil)
	if err != nil {
		return err
	}
	select {
	case r := <-replies:
		if r.err != nil {
			return r.err
		}
		if result != nil {
			return json.Unmarshal(r.result, result)
		}
		return nil
	case <-ctx.Done():
		c.Cancel(id)
		return ctx.Err()
	}
}

// Stream starts a request whose chat.delta notifications make a ChatStream (chat.stream). When
// ctx is done before the reply, the request is cancelled.
func (c *Client) Stream(ctx context.Context, method string, params any) (*ChatStream, error) {
	streamID := ""
	if p, ok := params.(ChatStreamParams); ok && p.StreamID != nil {
		streamID = *p.StreamID
	}
	var stream *ChatStream
	id, replies, err := c.request(method, params, func(id int64) {
		if streamID == "" {
			streamID = fmt.Sprint(id)
		}
		stream = newChatStream(id, streamID, func() { c.Cancel(id) })
		c.streams[streamID] = stream
	})
	if err != nil {
		return nil, err
	}
	go func() {
		select {
		case r := <-replies:
			c.mu.Lock()
			if c.streams[streamID] == stream {
				delete(c.streams, streamID)
			}
			c.mu.Unlock()
			stream.settle(r.result, r.err)
		case <-ctx.Done():
			c.Cancel(id)
			r := <-replies
			c.mu.Lock()
			if c.streams[streamID] == stream {
				delete(c.streams, streamID)
			}
			c.mu.Unlock()
			stream.settle(r.result, r.err)
		}
	}()
	return stream, nil
}

// Notify sends a notification.
func (c *Client) Notify(method string, params any) error {
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	return c.write(msg)
}

// Cancel asks the adapter to cancel a request; it still replies to it (code -32800).
func (c *Client) Cancel(id int64) {
	_ = c.Notify("$/cancelRequest", map[string]int64{"id": id})
}

// OnNotification calls handler for every notification (on the reader goroutine: keep it short).
func (c *Client) OnNotification(handler NotificationHandler) {
	c.mu.Lock()
	c.notes = append(c.notes, handler)
	c.mu.Unlock()
}

// request registers the reply channel (and, under the same lock, whatever before() sets up, so
// that no delta can arrive before its stream exists), then writes the request.
func (c *Client) request(method string, params any, before func(id int64)) (int64, chan response, error) {
	replies := make(chan response, 1)
	c.mu.Lock()
	if c.closed != nil {
		err := c.closed
		c.mu.Unlock()
		return 0, nil, err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = replies
	if before != nil {
		before(id)
	}
	c.mu.Unlock()
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if err := c.write(msg); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return 0, nil, err
	}
	return id, replies, nil
}

func (c *Client) write(msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.stdin.Write(encodeFrame(body, c.framing)); err != nil {
		return fmt.Errorf("%w: writing to the adapter: %v", ErrClosed, err)
	}
	return nil
}

type incoming struct {
	ID     *int64          `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *rpcErrorObject `json:"error"`
}

func (c *Client) read(stdout io.Reader) {
	defer close(c.readerDone)
	frames := newFrameReader(stdout, c.framing)
	for {
		body, err := frames.next()
		if err != nil {
			break
		}
		var msg incoming
		if json.Unmarshal(body, &msg) != nil {
			continue // not a message we sent a request for (an id we never use, or not JSON)
		}
		c.dispatch(&msg)
	}
	// Drain the rest, so a process still writing never blocks on a full pipe.
	_, _ = io.Copy(io.Discard, stdout)
	c.connectionLost()
}

func (c *Client) dispatch(msg *incoming) {
	if msg.Method != "" && msg.ID == nil {
		if msg.Method == "chat.delta" {
			var delta ChatDelta
			if json.Unmarshal(msg.Params, &delta) == nil {
				c.mu.Lock()
				stream := c.streams[delta.StreamID]
				c.mu.Unlock()
				if stream != nil {
					stream.push(delta)
				}
			}
		}
		c.mu.Lock()
		handlers := append([]NotificationHandler{}, c.notes...)
		c.mu.Unlock()
		for _, h := range handlers {
			h(msg.Method, msg.Params)
		}
		return
	}
	if msg.Method != "" || msg.ID == nil {
		return
	}
	c.mu.Lock()
	replies := c.pending[*msg.ID]
	delete(c.pending, *msg.ID)
	c.mu.Unlock()
	if replies == nil {
		return
	}
	if msg.Error != nil {
		replies <- response{err: newRPCError(msg.Error)}
	} else {
		replies <- response{result: msg.Result}
	}
}

func (c *Client) connectionLost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = fmt.Errorf("%w; stderr: %s", ErrClosed, lastChars(c.stderr.String(), 2000))
	for id, replies := range c.pending {
		replies <- response{err: c.closed}
		delete(c.pending, id)
	}
}

// Close shuts the adapter down (shutdown, exit, end of input) and waits for it to exit; after
// Options.CloseTimeout it kills it. Running requests are answered -32800. It never leaves the
// adapter running, and returns nil once it has exited, whatever its exit code (see ExitCode).
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout)
		defer cancel()
		if c.Call(ctx, "shutdown", nil, nil) == nil {
			_ = c.Notify("exit", nil)
		}
		c.writeMu.Lock()
		_ = c.stdin.Close()
		c.writeMu.Unlock()
		select {
		case <-c.exited:
		case <-ctx.Done():
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	})
	return nil
}

// tailBuffer keeps the last `limit` bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	limit int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.limit; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

func lastChars(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
