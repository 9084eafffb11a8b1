package main

import (
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse/internal/cfgparse"
)

// runReference prints the keyword reference generated from the parser's
// keyword tables (the README embeds it).
func runReference(stdout, stderr io.Writer) int {
	if err := cfgparse.WriteReference(stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
