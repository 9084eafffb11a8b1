package stats

import (
	"strconv"
	"time"
)

// ACMEStats is a certificate an acme section keeps: its orders since the
// configuration was loaded and its end of validity (zero before the first
// issuance).
type ACMEStats struct {
	Section, Certificate string
	Domains              []string
	NotAfter             time.Time
	OrdersOK             uint64
	OrdersFailed         uint64
}

// promACME writes gatehouse_acme_orders_total{acme,certificate,result}
// and, once a certificate is issued, one
// gatehouse_acme_certificate_expiry_timestamp_seconds per domain.
func promACME(p *promWriter) {
	const ordersHelp = "ACME orders since the configuration was loaded, by outcome (success, failure)"
	for _, a := range p.snap.ACME {
		for _, r := range []struct {
			result string
			n      uint64
		}{{"success", a.OrdersOK}, {"failure", a.OrdersFailed}} {
			p.sample("gatehouse_acme_orders_total", ordersHelp, "counter",
				[]promLabel{{"acme", a.Section}, {"certificate", a.Certificate}, {"result", r.result}}, strconv.FormatUint(r.n, 10))
		}
	}
	for _, a := range p.snap.ACME {
		if a.NotAfter.IsZero() {
			continue
		}
		for _, d := range a.Domains {
			p.sample("gatehouse_acme_certificate_expiry_timestamp_seconds",
				"When the ACME certificate serving a domain expires (its notAfter, Unix seconds)", "gauge",
				[]promLabel{{"acme", a.Section}, {"certificate", a.Certificate}, {"domain", d}}, strconv.FormatInt(a.NotAfter.Unix(), 10))
		}
	}
}
