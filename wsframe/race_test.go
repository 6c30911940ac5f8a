//go:build race

package wsframe

// raceEnabled: allocation counts are not meaningful under the race detector.
const raceEnabled = true
