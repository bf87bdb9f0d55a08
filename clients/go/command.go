package chutesrpc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// ErrAdapterNotFound is returned by Start when no command is given and none is found.
var ErrAdapterNotFound = errors.New("chutes-rpc not found")

// SingleBinaryPath is where the single executable is looked for: <home>/bin/chutes-rpc, home being
// the adapter's state directory ($CHUTES_RPC_HOME, else ~/.chutes-rpc).
func SingleBinaryPath() string {
	home := os.Getenv("CHUTES_RPC_HOME")
	if home == "" {
		user, err := os.UserHomeDir()
		if err != nil {
			user = "."
		}
		home = filepath.Join(user, ".chutes-rpc")
	}
	name := "chutes-rpc"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(home, "bin", name)
}

// AdapterCommand is the program and leading arguments that start chutes-rpc when Options.Command
// is empty: chutes-rpc on PATH, else the single binary, else npx.
func AdapterCommand() ([]string, error) {
	if path, err := exec.LookPath("chutes-rpc"); err == nil {
		return []string{path}, nil
	}
	if info, err := os.Stat(SingleBinaryPath()); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
		return []string{SingleBinaryPath()}, nil
	}
	if npx, err := exec.LookPath("npx"); err == nil {
		return []string{npx, "--yes", "chutes-rpc"}, nil
	}
	return nil, fmt.Errorf("%w: install it (npm install -g chutes-rpc), put the single binary at %s, or set Options.Command",
		ErrAdapterNotFound, SingleBinaryPath())
}
