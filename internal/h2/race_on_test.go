//go:build race

package h2

// raceEnabled: under the race detector sync.Pool drops some of what is
// put back, so allocation bounds allow for it.
const raceEnabled = true
