package demo_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/cfgparse"
	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

func freePort(t *testing.T) int {
	return testenv.FreePort(t)
}

// TestDemo runs what "gatehouse demo" runs: the Istio-like gateway refuses
// a wrong SNI, and through the edge a request arrives with the mesh's SNI
// and Host, /admin is denied, the health check is L7OK and metrics serve.
func TestDemo(t *testing.T) {
	gw, err := demo.StartGateway("127.0.0.1:0", demo.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	edge, stats := freePort(t), freePort(t)
	cfg, err := cfgparse.Parse("demo.cfg", []byte(demo.EdgeConfig(edge, stats, gw.Addr())), cfgparse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := app.Build(cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	rt := app.NewRuntime(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := rt.Apply(g); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown()

	// The gateway itself refuses a handshake for another name.
	if _, err := http.Get("https://" + gw.Addr() + "/"); err == nil {
		t.Error("the demo gateway accepted a handshake without its SNI")
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/hello", edge))
	if err != nil {
		t.Fatal(err)
	}
	var e demo.Echo
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if e.SNI != demo.Host || e.Host != demo.Host || e.URI != "/hello" {
		t.Errorf("through the edge: %+v", e)
	}
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/admin", edge))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("/admin: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", stats))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "gateway-1,") && strings.Contains(string(b), ",L7OK,200,") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the health check never reached L7OK/200:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", stats))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "haproxy_server_check_status") {
		t.Error("metrics lack haproxy_server_check_status")
	}
}
