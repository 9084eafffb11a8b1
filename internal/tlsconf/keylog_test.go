package tlsconf

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// readRecorder keeps what the client reads, to find the ServerHello.
type readRecorder struct {
	net.Conn
	got []byte
}

func (r *readRecorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.got = append(r.got, b[:n]...)
	return n, err
}

// TestKeyLogConnection: a server connection's KeyLog holds the secrets the
// client's own key log has for it, and the randoms the client sent and
// received (which a client's RandomsConn records alike), also after a HelloRetryRequest and through GetConfigForClient.
func TestKeyLogConnection(t *testing.T) {
	ca := tlstest.NewCA(t)
	crt := ca.TLSCertificate(t, "a.example")
	for i := range 4 {
		hrr, mk := i%2 == 1, NewCaptureConn
		if i >= 2 { // no capture, no key log: the randoms only
			mk = NewRandomsConn
		}
		base := &tls.Config{Certificates: []tls.Certificate{crt}}
		if hrr { // the client's first key share is X25519(MLKEM768): ask again
			base.CurvePreferences = []tls.CurveID{tls.CurveP256}
		}
		picked := base.Clone()
		base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) { return picked, nil }
		cs, cc := tcpPair(t) // not net.Pipe: both sides write at once after a HelloRetryRequest
		kl := &KeyLog{}
		capc := mk(cs)
		srv := tls.Server(capc, WithKeyLog(base, kl))
		var clientLog bytes.Buffer
		rec := &readRecorder{Conn: cc}
		crand := &RandomsConn{Conn: rec} // the client side's own record
		errc := make(chan error, 1)
		go func() {
			cl := tls.Client(crand, &tls.Config{ServerName: "a.example", RootCAs: ca.CertPool(), KeyLogWriter: &clientLog})
			_ = cl.SetDeadline(time.Now().Add(10 * time.Second))
			err := cl.Handshake()
			if err != nil {
				cc.Close()
			}
			errc <- err
		}()
		_ = srv.SetDeadline(time.Now().Add(10 * time.Second))
		serr := srv.Handshake()
		if err := <-errc; err != nil || serr != nil {
			t.Fatalf("hrr %v: client %v, server %v", hrr, err, serr)
		}
		cs.Close()
		cc.Close()
		if base.KeyLogWriter != nil || picked.KeyLogWriter != nil {
			t.Fatal("WithKeyLog changed the shared configs")
		}
		kl.ClientRandom, kl.ServerRandom = capc.Randoms()
		lines := strings.Split(strings.TrimSpace(clientLog.String()), "\n")
		if len(lines) != 4 {
			t.Fatalf("client key log: %q", lines)
		}
		for _, l := range lines {
			f := strings.Fields(l)
			if f[1] != hex.EncodeToString(kl.ClientRandom) {
				t.Errorf("hrr %v: client random %x, client logged %s", hrr, kl.ClientRandom, f[1])
			}
			if got := kl.Secret(f[0]); got != f[2] && i < 2 { // WithKeyLog is the same either way
				t.Errorf("hrr %v: %s = %q, client logged %q", hrr, f[0], got, f[2])
			}
		}
		// The last ServerHello the client read carries the server random.
		var last []byte
		hellos := 0
		for r := rec.got; len(r) >= 5; {
			l := int(r[3])<<8 | int(r[4])
			if r[0] == 22 && len(r) >= 5+38 && r[5] == 2 {
				last = r[5+6 : 5+38]
				hellos++
			}
			r = r[min(5+l, len(r)):]
		}
		if want := map[bool]int{false: 1, true: 2}[hrr]; hellos != want {
			t.Fatalf("hrr %v: %d ServerHellos, want %d", hrr, hellos, want)
		}
		if !bytes.Equal(kl.ServerRandom, last) || bytes.Equal(last, helloRetryRandom[:]) {
			t.Errorf("hrr %v: server random %x, the client read %x", hrr, kl.ServerRandom, last)
		}
		if !bytes.Equal(crand.Client, kl.ClientRandom) || !bytes.Equal(crand.Server, kl.ServerRandom) {
			t.Errorf("hrr %v: the client recorded %x %x, the server %x %x", hrr, crand.Client, crand.Server, kl.ClientRandom, kl.ServerRandom)
		}
	}
}

func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.DialTimeout("tcp", ln.Addr().String(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	return server, client
}
