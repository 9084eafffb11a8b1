package stats

import (
	"strings"
	"testing"
	"time"
)

func TestPrometheusACME(t *testing.T) {
	na := time.Unix(1800000000, 0)
	snap := &Snapshot{ACME: []ACMEStats{
		{Section: "LE", Certificate: "site.pem", Domains: []string{"a.example", "b.example"}, NotAfter: na, OrdersOK: 2, OrdersFailed: 3},
		{Section: "LE", Certificate: "new.pem", Domains: []string{"c.example"}, OrdersFailed: 1},
	}}
	var b strings.Builder
	if err := WritePrometheusOptions(&b, snap, PromOptions{Global: true}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, w := range []string{
		"# TYPE gatehouse_acme_orders_total counter\n",
		`gatehouse_acme_orders_total{acme="LE",certificate="site.pem",result="success"} 2` + "\n",
		`gatehouse_acme_orders_total{acme="LE",certificate="site.pem",result="failure"} 3` + "\n",
		`gatehouse_acme_orders_total{acme="LE",certificate="new.pem",result="failure"} 1` + "\n",
		`gatehouse_acme_certificate_expiry_timestamp_seconds{acme="LE",certificate="site.pem",domain="b.example"} 1800000000` + "\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in:\n%s", w, out)
		}
	}
	if strings.Count(out, "# TYPE gatehouse_acme_orders_total") != 1 || strings.Contains(out, `domain="c.example"`) {
		t.Errorf("one family header, no expiry before issuance:\n%s", out)
	}
}
