//go:build race

package app

// raceEnabled: the race detector instruments every function, which grows
// stacks; bounds on stack sizes allow for it.
const raceEnabled = true
