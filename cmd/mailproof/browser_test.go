package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables of the browser tests.
const (
	// requireBrowserEnv=1 turns "no browser, skipped" into a failure (CI sets it).
	requireBrowserEnv = "MAILPROOF_TEST_REQUIRE_BROWSER"
	// artifactsEnv names a folder where the browser tests keep their screenshots; without
	// it they go to the test's temporary folder, gone when the test ends.
	artifactsEnv = "MAILPROOF_TEST_ARTIFACTS"
)

// chromiumPath is the browser the tests drive: Debian's /usr/bin/chromium, else the first
// of chromium, chromium-browser or google-chrome on the PATH. Without one the test is
// skipped saying how to install it, or fails under MAILPROOF_TEST_REQUIRE_BROWSER=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium, chromium-browser or google-chrome on the PATH: the status page's browser test needs one " +
		"(Debian: apt-get install --no-install-recommends chromium)"
	if os.Getenv(requireBrowserEnv) == "1" {
		t.Fatal(msg + "; " + requireBrowserEnv + "=1 forbids skipping it")
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts a headless chromium with a fresh profile and returns a tab's context,
// closed (and the browser stopped) when the test ends. The flags keep the browser off
// the network except for the pages the test loads: on a machine without internet access
// its background requests (component updates, sync, QUIC probes) fail and can refuse
// the test's own connections.
func newBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	profile := t.TempDir() // created before the cleanup below, so removed after the browser exits
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where chromium refuses its sandbox
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc() // waits for the browser to exit
		cancel()
	})
	return tab
}

// artifactsDir is where a test keeps what a person should look at afterwards:
// $MAILPROOF_TEST_ARTIFACTS/<test name> when set (CI keeps the folder), else the test's
// temporary folder.
func artifactsDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv(artifactsEnv)
	if base == "" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(filepath.Join(base, t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%s: %v", artifactsEnv, err)
	}
	return dir
}

// keepArtifact writes b as name in dir (from artifactsDir) and logs where.
func keepArtifact(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv(artifactsEnv) == "" {
		t.Logf("%s written to %s (deleted when the test ends; set %s=DIR to keep it)", name, p, artifactsEnv)
	} else {
		t.Logf("%s written to %s", name, p)
	}
}
