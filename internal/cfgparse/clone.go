package cfgparse

import (
	"slices"

	"github.com/gatehouse/gatehouse/internal/config"
)

// cloneProxy copies a defaults section into a new proxy so that what the
// proxy adds or changes never reaches the defaults or its other users.
// Rules and ACLs are immutable once parsed, so their pointers are shared.
func cloneProxy(d *config.Proxy) *config.Proxy {
	px := *d
	px.Binds = nil
	px.Servers = nil
	px.ACLs = slices.Clone(d.ACLs)
	px.HTTPRequest = slices.Clone(d.HTTPRequest)
	px.HTTPResponse = slices.Clone(d.HTTPResponse)
	px.HTTPAfterResponse = slices.Clone(d.HTTPAfterResponse)
	px.TCPRequest = slices.Clone(d.TCPRequest)
	px.TCPResponse = slices.Clone(d.TCPResponse)
	px.UseBackends = slices.Clone(d.UseBackends)
	px.Logs = slices.Clone(d.Logs)
	px.Captures = slices.Clone(d.Captures)
	px.RetryOn = slices.Clone(d.RetryOn)
	px.ErrorOps = slices.Clone(d.ErrorOps)
	if d.EmailAlert != nil {
		ea := *d.EmailAlert
		px.EmailAlert = &ea
	}
	if d.OriginalTo != nil {
		ot := *d.OriginalTo
		px.OriginalTo = &ot
	}
	if d.ForwardFor != nil {
		ff := *d.ForwardFor
		px.ForwardFor = &ff
	}
	if d.HTTPCheck != nil {
		hc := *d.HTTPCheck
		hc.Headers = slices.Clone(hc.Headers)
		hc.Expect = slices.Clone(hc.Expect)
		if hc.Connect != nil {
			c := *hc.Connect
			hc.Connect = &c
		}
		px.HTTPCheck = &hc
	}
	if d.TCPCheck != nil {
		tc := *d.TCPCheck
		tc.Steps = slices.Clone(tc.Steps)
		px.TCPCheck = &tc
	}
	if d.Compression != nil {
		// HAProxy copies a defaults section's algorithms and types, not
		// its offload.
		c := *d.Compression
		c.Algos, c.Types, c.Offload = slices.Clone(c.Algos), slices.Clone(c.Types), false
		px.Compression = &c
	}
	if d.Stats != nil {
		st := *d.Stats
		st.Auth = slices.Clone(st.Auth)
		px.Stats = &st
	}
	return &px
}

// cloneServer copies a default-server template.
func cloneServer(s config.Server) config.Server {
	s.ALPN = slices.Clone(s.ALPN)
	s.CheckALPN = slices.Clone(s.CheckALPN)
	s.ProxyV2Opts = slices.Clone(s.ProxyV2Opts)
	return s
}
