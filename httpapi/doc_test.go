package httpapi

import (
	"os"
	"regexp"
	"testing"
)

// TestAPIDocCoversEveryRoute fails when an endpoint is missing from API.md, is
// documented with the wrong method, or is documented but does not exist.
func TestAPIDocCoversEveryRoute(t *testing.T) {
	doc, err := os.ReadFile("API.md")
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`(?m)^### (GET|POST) (/\S*)$`)
	documented := map[string]string{}
	for _, m := range heading.FindAllStringSubmatch(string(doc), -1) {
		documented[m[2]] = m[1]
	}
	for path, rt := range routes {
		method, ok := documented[path]
		switch {
		case !ok:
			t.Errorf("route %s %s is missing from API.md (want a heading '### %s %s')", rt.method, path, rt.method, path)
		case method != rt.method:
			t.Errorf("API.md documents %s %s, the route is %s", method, path, rt.method)
		}
	}
	for path := range documented {
		if _, ok := routes[path]; !ok {
			t.Errorf("API.md documents %s, which is not a route", path)
		}
	}
	if len(documented) == 0 {
		t.Fatal("no '### METHOD /path' headings found in API.md")
	}
}
