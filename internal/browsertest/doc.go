// Package browsertest starts headless Chromium for tests and gives them what
// they check a page with: the errors its console reported and screenshots.
//
// It knows nothing about wsgate: tests bring their own servers and pages.
// Chromium is Debian's /usr/bin/chromium, which .ci/run installs. Outside CI
// (CI unset) a test that needs it is skipped with a message when it is
// missing; with CI=true the test fails instead, so CI never passes by
// skipping.
//
// Concurrency: Start gives each test its own browser (its own profile in
// t.TempDir), stopped when the test ends. A Console records from a goroutine
// of its own, which its test's cleanup stops and waits for.
package browsertest
