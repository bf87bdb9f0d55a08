package chutesrpc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The scenario of the issue, on this repository's adapter (bin/) and recorded cassettes, over both
// framings. The subtests run in parallel: the cassettes pace their streams like the service.

var (
	root      = filepath.Join("..", "..")
	framings  = []Framing{NDJSON, LSP}
	haiku     = "Sealed in silicon,\nthoughts run where no eye can reach —\nproof, not promises."
	weather   = Tool{Type: "function", Function: ToolFunction{Name: "get_weather", Parameters: map[string]any{"type": "object"}}}
	userHaiku = []ChatMessage{{Role: "user", Content: "haiku"}}
)

func start(t testing.TB, framing Framing, cassette string) *Client {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	env := []string{"CHUTES_API_KEY=cpk_test_go_client", "CHUTES_RPC_HOME=" + t.TempDir()}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CHUTES_") {
			env = append(env, kv)
		}
	}
	c, err := Start(context.Background(), Options{
		Command: []string{node, filepath.Join(root, "bin", "chutes-rpc")},
		Args:    []string{"--replay", filepath.Join(root, "fixtures", "cassettes", cassette)},
		Framing: framing,
		Env:     env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func text(s *ChatStream) (string, []int) {
	var b strings.Builder
	var seqs []int
	for s.Next() {
		d := s.Delta()
		seqs = append(seqs, d.Seq)
		b.WriteString(d.Content)
	}
	return b.String(), seqs
}

func str(s string) *string { return &s }

func TestScenario(t *testing.T) {
	t.Parallel()
	for _, framing := range framings {
		framing := framing
		t.Run(string(framing)+"/demo session", func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			c := start(t, framing, "demo.json")
			info, err := c.Initialize(ctx, InitializeParams{ClientInfo: &InitializeParamsClientInfo{Name: "go-test"}})
			if err != nil || info.Framing != string(framing) {
				t.Fatalf("initialize: %+v %v", info, err)
			}
			tee := true
			found, err := c.ModelsDiscover(ctx, ModelsDiscoverParams{TeeOnly: &tee})
			if err != nil || found.Source != "live" || len(found.Models) != 7 {
				t.Fatalf("models.discover: %v %v", found, err)
			}

			stream, err := c.ChatStream(ctx, ChatStreamParams{Model: str("chutes/zai-org/GLM-4.7-Flash"), Messages: userHaiku})
			if err != nil {
				t.Fatal(err)
			}
			got, seqs := text(stream)
			if stream.Err() != nil || got != haiku || stream.Result().Message.Content != haiku {
				t.Fatalf("stream: %q %v %v", got, stream.Err(), stream.Result())
			}
			for i, s := range seqs {
				if s != i {
					t.Fatalf("seq %v", seqs)
				}
			}

			question := ChatMessage{Role: "user", Content: "What's the weather in Lisbon?"}
			first, err := c.ChatComplete(ctx, ChatCompleteParams{Model: str("moonshotai/Kimi-K2.5-TEE"), Messages: []ChatMessage{question}, Tools: []Tool{weather}, ToolChoice: "auto"})
			if err != nil || len(first.Message.ToolCalls) != 1 {
				t.Fatalf("tool call: %+v %v", first, err)
			}
			call := first.Message.ToolCalls[0]
			var args struct{ City string }
			if json.Unmarshal([]byte(call.Arguments), &args) != nil || call.Name != "get_weather" || args.City != "Lisbon" {
				t.Fatalf("tool call: %+v", call)
			}
			assistant := ChatMessage{Role: "assistant", ToolCalls: []WireToolCall{{ID: call.ID, Type: "function", Function: WireToolCallFunction{Name: call.Name, Arguments: call.Arguments}}}}
			toolResult := ChatMessage{Role: "tool", ToolCallID: &call.ID, Content: `{"temperature_c": 21}`}
			answer, err := c.ChatStream(ctx, ChatStreamParams{Model: str("moonshotai/Kimi-K2.5-TEE"), Messages: []ChatMessage{question, assistant, toolResult}, Tools: []Tool{weather}})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := text(answer); !strings.Contains(got, "21 °C") {
				t.Fatalf("answer: %q %v", got, answer.Err())
			}

			// Cancelling the context cancels the stream upstream: the reply is -32800 with the partial message.
			storyCtx, cancel := context.WithCancel(ctx)
			maxTokens := 2048
			story, err := c.ChatStream(storyCtx, ChatStreamParams{Model: str("zai-org/GLM-4.7-Flash"), Messages: userHaiku, MaxTokens: &maxTokens})
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 5 && story.Next(); n++ {
			}
			cancel()
			for story.Next() {
			}
			var rpcErr *RPCError
			if !errors.As(story.Err(), &rpcErr) || !rpcErr.Cancelled() || rpcErr.Partial() == nil || rpcErr.Partial().Content == "" {
				t.Fatalf("cancelled stream: %v", story.Err())
			}

			if err := c.Close(); err != nil || c.ExitCode() != 0 {
				t.Fatalf("close: %v, exit code %d", err, c.ExitCode())
			}
		})

		t.Run(string(framing)+"/two concurrent streams", func(t *testing.T) {
			t.Parallel()
			c := start(t, framing, "conformance-concurrent.json")
			var mu sync.Mutex
			var arrivals []string
			texts := map[string]string{}
			var wg sync.WaitGroup
			for _, model := range []string{"zai-org/GLM-4.7-Flash", "Qwen/Qwen3-32B-TEE"} {
				model := model
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := c.ChatStream(context.Background(), ChatStreamParams{Model: &model, Messages: userHaiku})
					if err != nil {
						t.Error(err)
						return
					}
					var b strings.Builder
					for s.Next() {
						mu.Lock()
						arrivals = append(arrivals, model)
						mu.Unlock()
						b.WriteString(s.Delta().Content)
					}
					mu.Lock()
					texts[model] = b.String()
					mu.Unlock()
				}()
			}
			wg.Wait()
			if texts["zai-org/GLM-4.7-Flash"] != "one two three four five six seven eight" || texts["Qwen/Qwen3-32B-TEE"] != "eins zwei drei vier fünf sechs" {
				t.Fatalf("texts: %q", texts)
			}
			switches := 0
			for i := 1; i < len(arrivals); i++ {
				if arrivals[i] != arrivals[i-1] {
					switches++
				}
			}
			if switches < 2 {
				t.Fatalf("the streams did not overlap: %v", arrivals)
			}
		})

		t.Run(string(framing)+"/an error with its resolution", func(t *testing.T) {
			t.Parallel()
			c := start(t, framing, "conformance-chat-errors.json")
			_, err := c.ChatComplete(context.Background(), ChatCompleteParams{Model: str("test/http-401"), Messages: userHaiku})
			var rpcErr *RPCError
			if !errors.As(err, &rpcErr) || rpcErr.Code != -32001 || rpcErr.Type != "unauthorized" || rpcErr.Resolution == "" || rpcErr.Retryable == nil || *rpcErr.Retryable {
				t.Fatalf("error: %#v", err)
			}
		})
	}
}

func TestCloseCancelsRunningStreamsAndStopsTheAdapter(t *testing.T) {
	t.Parallel()
	c := start(t, NDJSON, "conformance-slow.json")
	stream, err := c.ChatStream(context.Background(), ChatStreamParams{Messages: userHaiku})
	if err != nil || !stream.Next() {
		t.Fatalf("stream: %v %v", err, stream.Err())
	}
	began := time.Now()
	_ = c.Close()
	if took := time.Since(began); took > 3*time.Second || c.ExitCode() != 0 {
		t.Fatalf("close took %v, exit code %d", took, c.ExitCode())
	}
	var rpcErr *RPCError
	if _, err := stream.Wait(context.Background()); !errors.As(err, &rpcErr) || !rpcErr.Cancelled() {
		t.Fatalf("stream after close: %v", err)
	}
	if _, err := c.AuthStatus(context.Background(), AuthStatusParams{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("a call after close: %v", err)
	}
}

// The host role of TestKilledHostLeavesNoAdapter: this test binary, started again with
// CHUTES_RPC_GO_TEST_HOST set, starts an adapter and a stream, prints the adapter's pid, and waits
// to be killed.
func TestMain(m *testing.M) {
	if cassette := os.Getenv("CHUTES_RPC_GO_TEST_HOST"); cassette != "" {
		c := start(&hostTB{}, NDJSON, cassette)
		if _, err := c.ChatStream(context.Background(), ChatStreamParams{Messages: userHaiku}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("adapter", c.PID())
		select {}
	}
	os.Exit(m.Run())
}

func TestKilledHostLeavesNoAdapter(t *testing.T) {
	t.Parallel()
	host := exec.Command(os.Args[0], "-test.run=^$")
	host.Env = append(os.Environ(), "CHUTES_RPC_GO_TEST_HOST=conformance-slow.json")
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	fields := strings.Fields(line)
	if err != nil || len(fields) != 2 || fields[0] != "adapter" {
		_ = host.Process.Kill()
		t.Fatalf("host said %q (%v)", line, err)
	}
	pid, _ := strconv.Atoi(fields[1])
	if !alive(pid) {
		t.Fatalf("adapter %d is not running while its host is", pid)
	}
	_ = host.Process.Kill() // SIGKILL: the host runs no cleanup at all
	_ = host.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("adapter %d still running 10 s after its host was killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive: the process exists and is not a zombie waiting for a parent that will not reap it.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// hostTB is enough of testing.TB for start() outside a test.
type hostTB struct{ testing.TB }

func (hostTB) Helper()                   {}
func (hostTB) Fatal(args ...any)         { fmt.Println(args...); os.Exit(1) }
func (hostTB) Fatalf(f string, a ...any) { fmt.Printf(f+"\n", a...); os.Exit(1) }
func (hostTB) TempDir() string           { d, _ := os.MkdirTemp("", "chutes-rpc-go-host-"); return d }
func (hostTB) Cleanup(func())            {}
