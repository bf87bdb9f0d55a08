package chutesrpc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func executable(t *testing.T, dir, name string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// The default command: chutes-rpc on PATH, else the single binary in <home>/bin, else npx.
func TestAdapterCommandOrder(t *testing.T) {
	bin, home := t.TempDir(), t.TempDir()
	t.Setenv("PATH", bin)
	t.Setenv("CHUTES_RPC_HOME", home)
	if _, err := AdapterCommand(); !errors.Is(err, ErrAdapterNotFound) {
		t.Fatalf("nothing installed: %v", err)
	}
	npx := executable(t, bin, "npx")
	if got, _ := AdapterCommand(); !reflect.DeepEqual(got, []string{npx, "--yes", "chutes-rpc"}) {
		t.Fatalf("npx: %v", got)
	}
	single := executable(t, filepath.Join(home, "bin"), "chutes-rpc")
	if got, _ := AdapterCommand(); !reflect.DeepEqual(got, []string{single}) {
		t.Fatalf("single binary: %v", got)
	}
	onPath := executable(t, bin, "chutes-rpc")
	if got, _ := AdapterCommand(); !reflect.DeepEqual(got, []string{onPath}) {
		t.Fatalf("on PATH: %v", got)
	}
}
