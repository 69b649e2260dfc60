package btcdtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// btcdModule is the module the binaries come from; its version is the one
// the main module's go.mod requires (a tool dependency).
const btcdModule = "github.com/btcsuite/btcd"

// Environment variables that name prebuilt binaries, for machines that
// cannot build (no module download). Both must be set, to btcd and btcctl
// of the version go.mod requires.
const (
	EnvBtcd   = "BTCDTEST_BTCD"
	EnvBtcctl = "BTCDTEST_BTCCTL"
)

// buildTimeout bounds the one build per machine; later builds are cache
// hits of a second or two.
const buildTimeout = 5 * time.Minute

var built struct {
	once         sync.Once
	btcd, btcctl string
	err          error
}

// Binaries returns the paths of btcd and btcctl, building them on first use
// in a test process.
//
// They are built with `go install github.com/btcsuite/btcd@<version>` (and
// cmd/btcctl), where version is what go.mod requires, rather than with
// `go build` or `go tool` inside this module: btcd v0.24.2's main package
// does not compile against btcec/v2 v2.3.4, which this module requires (its
// ecdsa.SignCompact lost an error result in v2.3.3), while `go install
// pkg@version` builds btcd with the versions btcd's own go.mod pins, i.e.
// exactly the released btcd. The binaries land in a directory per version
// under the user cache directory, renamed into place atomically so that
// concurrent test processes do not see half-written files.
func Binaries(tb testing.TB) (btcd, btcctl string) {
	tb.Helper()
	built.once.Do(func() {
		built.btcd, built.btcctl, built.err = binaries()
	})
	if built.err != nil {
		tb.Fatalf("btcdtest: %v", built.err)
	}
	return built.btcd, built.btcctl
}

func binaries() (string, string, error) {
	if d, c := os.Getenv(EnvBtcd), os.Getenv(EnvBtcctl); d != "" || c != "" {
		if d == "" || c == "" {
			return "", "", fmt.Errorf("set both %s and %s, or neither", EnvBtcd, EnvBtcctl)
		}
		return d, c, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	root, err := moduleRoot()
	if err != nil {
		return "", "", err
	}
	out, err := goCmd(ctx, root, nil, "list", "-m", "-f", "{{.Version}}", btcdModule)
	if err != nil {
		return "", "", fmt.Errorf("finding the btcd version go.mod requires: %w", err)
	}
	version := strings.TrimSpace(out)

	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	parent := filepath.Join(base, "satnode-btcdtest")
	dir := filepath.Join(parent, fmt.Sprintf("btcd-%s-%s-%s", version, runtime.GOOS, runtime.GOARCH))
	btcd, btcctl := filepath.Join(dir, exe("btcd")), filepath.Join(dir, exe("btcctl"))
	if isFile(btcd) && isFile(btcctl) {
		return btcd, btcctl, nil
	}

	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", "", err
	}
	tmp, err := os.MkdirTemp(parent, ".build-*")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	// GOFLAGS from the environment (say -mod=vendor) may not apply to
	// pkg@version builds, and a go.work must not redirect btcd's modules.
	env := []string{"GOBIN=" + tmp, "GOFLAGS=", "GOWORK=off"}
	if _, err := goCmd(ctx, root, env, "install", btcdModule+"@"+version, btcdModule+"/cmd/btcctl@"+version); err != nil {
		return "", "", fmt.Errorf("building btcd %s: %w", version, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another test process got there first; its binaries are the same.
		if !(isFile(btcd) && isFile(btcctl)) {
			return "", "", fmt.Errorf("installing btcd binaries into %s: %w", dir, err)
		}
	}
	return btcd, btcctl, nil
}

// goCmd runs the go command in dir and returns its standard output.
func goCmd(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// goTool is the go command. go test puts $GOROOT/bin first on the test's
// PATH, so this is the toolchain running the tests.
func goTool() string { return "go" }

// moduleRoot walks up from the working directory (the test's package
// directory) to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}
