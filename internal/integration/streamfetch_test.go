package integration

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestStreamFetchesMatchHAProxy: the fetches about the stream's own
// connection and settings (so_id, so_name, fe_defbe, fe_client_timeout,
// be_server_timeout, be_tunnel_timeout, cur_*_timeout with set-timeout,
// srv_weight/uweight/iweight, fc_rcvd_proxy, fc_pp_authority,
// fc_pp_unique_id, *_is_local and the fc_rtt family) answer as HAProxy
// 2.6's, side by side.
func TestStreamFetchesMatchHAProxy(t *testing.T) {
	echo := testenv.StartEchoServer(t).Addr
	results := map[string]string{}
	for _, name := range []string{"haproxy", "gatehouse"} {
		p1, p2, pp := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
		sock := t.TempDir() + "/admin.sock"
		cfg := fmt.Sprintf(`global
    stats socket %s level admin

defaults
    mode http
    timeout connect 5s
    timeout client 11s
    timeout server 12s
    timeout tunnel 13s

frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d name second
    bind 127.0.0.1:%d accept-proxy name pp
    http-request return status 200 content-type text/plain lf-string "so=%%[so_id]/%%[so_name] defbe=%%[fe_defbe] cli=%%[fe_client_timeout] pp=%%[fc_rcvd_proxy] auth=%%[fc_pp_authority] uid=%%[fc_pp_unique_id] local=%%[fc_src_is_local]/%%[fc_dst_is_local]/%%[src_is_local] rtt=%%[fc_rtt] rttus=%%[fc_rtt(us)] var=%%[fc_rttvar] un=%%[fc_unacked] re=%%[fc_retrans] lost=%%[fc_lost]" if { path_beg /fe }
    default_backend be

backend be
    http-request set-timeout server 7s if { path_beg /short }
    http-request return status 200 content-type text/plain lf-string "srv=%%[be_server_timeout] tun=%%[be_tunnel_timeout] cur=%%[cur_server_timeout]/%%[cur_tunnel_timeout] w=%%[srv_weight(be/s1)]/%%[srv_uweight(be/s1)]/%%[srv_iweight(be/s1)] w2=%%[srv_weight(be/s2)]/%%[srv_uweight(be/s2)]/%%[srv_iweight(be/s2)]"
    server s1 %s weight 30
    server s2 %s weight 20
`, sock, p1, p2, pp, echo, echo)
		stop := testenv.StartSide(t, name, cfg)
		apiCLI(t, sock, "set weight be/s2 5")
		apiCLI(t, sock, "set server be/s1 state drain")
		var out []string
		for _, probe := range []struct {
			port        int
			path, label string
			proxyHeader []byte
		}{
			{p1, "/fe", "first bind", nil},
			{p2, "/fe", "named bind", nil},
			{pp, "/fe", "PROXY v2 with TLVs", proxyV2WithTLVs("edge.example", "req-42")},
			{p1, "/be", "backend", nil},
			{p1, "/short", "set-timeout", nil},
		} {
			out = append(out, probe.label+": "+fetchBody(t, testenv.LocalAddr(probe.port), probe.path, probe.proxyHeader))
		}
		stop()
		results[name] = strings.Join(out, "\n")
	}
	// The kernel's counters are numbers whose values differ from one
	// connection to the next.
	tcp := regexp.MustCompile(`(rtt|rttus|var|un|re|lost)=\d+`)
	h, g := tcp.ReplaceAllString(results["haproxy"], "$1=N"), tcp.ReplaceAllString(results["gatehouse"], "$1=N")
	if h != g || !strings.Contains(g, "rtt=N") {
		t.Errorf("differ:\n  haproxy:\n%s\n  gatehouse:\n%s", results["haproxy"], results["gatehouse"])
	}
}

// fetchBody sends one HTTP/1.1 request, after header when given, and returns
// the answer's body.
func fetchBody(t *testing.T, addr, path string, header []byte) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write(header)
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
	b, _ := io.ReadAll(c)
	_, body, _ := strings.Cut(string(b), "\r\n\r\n")
	return body
}

// proxyV2WithTLVs is a PROXY v2 header for 127.0.0.1:40000 ->
// 127.0.0.1:443 with the authority and unique ID TLVs.
func proxyV2WithTLVs(authority, uniqueID string) []byte {
	addrs := []byte{127, 0, 0, 1, 127, 0, 0, 1, 0x9c, 0x40, 0x01, 0xbb}
	var tlvs []byte
	for _, tlv := range []struct {
		typ byte
		v   string
	}{{0x02, authority}, {0x05, uniqueID}} {
		tlvs = append(tlvs, tlv.typ, byte(len(tlv.v)>>8), byte(len(tlv.v)))
		tlvs = append(tlvs, tlv.v...)
	}
	h := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11")
	h = binary.BigEndian.AppendUint16(h, uint16(len(addrs)+len(tlvs)))
	h = append(h, addrs...)
	return append(h, tlvs...)
}
