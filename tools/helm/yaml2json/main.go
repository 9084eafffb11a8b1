// Command yaml2json turns the YAML documents of 'helm template' (stdin)
// into a JSON array (stdout), so Gatehouse's chart test reads them with
// encoding/json and its own module needs no YAML library.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "yaml2json:", err)
		os.Exit(1)
	}
	var docs []json.RawMessage
	for _, doc := range strings.Split("\n"+string(in), "\n---") {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			fmt.Fprintf(os.Stderr, "yaml2json: %v in:\n%s\n", err, doc)
			os.Exit(1)
		}
		if string(j) != "null" {
			docs = append(docs, j)
		}
	}
	out, _ := json.Marshal(docs)
	os.Stdout.Write(out)
}
