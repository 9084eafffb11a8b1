package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/gatehouse/gatehouse/internal/tlsconf/tlstest"
)

// grpcService is the gRPC test service behind the edge: it echoes, streams
// both ways, reports what metadata reached it in trailers, and fails on
// demand with a status of its own.
type grpcService struct {
	testpb.UnimplementedTestServiceServer
	canceled chan struct{} // a hanging call saw its context end
}

func (g grpcService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	deadline := "none"
	if d, ok := ctx.Deadline(); ok {
		deadline = fmt.Sprint(time.Until(d).Round(time.Second))
	}
	_ = grpc.SetTrailer(ctx, metadata.Pairs("x-seen-authority", strings.Join(md.Get(":authority"), ","),
		"x-seen-xff", strings.Join(md.Get("x-forwarded-for"), ","), "x-seen-deadline", deadline))
	if req.GetResponseStatus() != nil {
		return nil, status.Error(codes.Code(req.GetResponseStatus().GetCode()), req.GetResponseStatus().GetMessage())
	}
	if req.GetResponseSize() == -1 {
		<-ctx.Done() // hang until the caller gives up
		close(g.canceled)
		return nil, ctx.Err()
	}
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (grpcService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	n := 0
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			stream.SetTrailer(metadata.Pairs("x-messages", fmt.Sprint(n)))
			return nil
		}
		if err != nil {
			return err
		}
		n++
		body := in.GetPayload().GetBody()
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: body}}); err != nil {
			return err
		}
	}
}

func TestGRPCThroughEdge(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	svc := grpcService{canceled: make(chan struct{})}
	testpb.RegisterTestServiceServer(gs, svc)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	ca := tlstest.NewCA(t)
	dir := t.TempDir()
	ca.WritePEMFile(t, dir, "edge.pem", "grpc.example")
	port := freePort(t)
	start(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d ssl crt %s alpn h2
    option forwardfor
    default_backend grpc
backend grpc
    server s1 %s proto h2
`, port, dir, lis.Addr()))

	creds := credentials.NewTLS(&tls.Config{RootCAs: ca.CertPool(), ServerName: "grpc.example"})
	cc, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(creds), grpc.WithAuthority("grpc.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := testpb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("unary with trailers", func(t *testing.T) {
		var trailer metadata.MD
		resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ping")}}, grpc.Trailer(&trailer))
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.GetPayload().GetBody()) != "ping" {
			t.Fatalf("payload %q", resp.GetPayload().GetBody())
		}
		if got := trailer.Get("x-seen-authority"); len(got) != 1 || got[0] != "grpc.example" {
			t.Fatalf("authority at the server: %v (trailers %v)", got, trailer)
		}
		if got := trailer.Get("x-seen-xff"); len(got) != 1 || got[0] != "127.0.0.1" {
			t.Fatalf("x-forwarded-for at the server: %v", got)
		}
	})

	t.Run("status from the server", func(t *testing.T) {
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.PermissionDenied), Message: "no entry"}})
		if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "no entry" {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("deadline reaches the server", func(t *testing.T) {
		dctx, dcancel := context.WithTimeout(ctx, 4*time.Second)
		defer dcancel()
		var trailer metadata.MD
		if _, err := client.UnaryCall(dctx, &testpb.SimpleRequest{}, grpc.Trailer(&trailer)); err != nil {
			t.Fatal(err)
		}
		if got := trailer.Get("x-seen-deadline"); len(got) != 1 || got[0] != "4s" {
			t.Fatalf("deadline at the server: %v", got)
		}
	})

	t.Run("a caller giving up cancels the server's call", func(t *testing.T) {
		dctx, dcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer dcancel()
		_, err := client.UnaryCall(dctx, &testpb.SimpleRequest{ResponseSize: -1})
		// The client's deadline and the server's (from grpc-timeout) race:
		// either the client gives up, or the server resets its stream and
		// the edge answers 502 (Unavailable), as Envoy would.
		if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Unavailable {
			t.Fatalf("got %v", err)
		}
		select {
		case <-svc.canceled:
		case <-time.After(20 * time.Second):
			t.Fatal("the server's call was not canceled")
		}
	})

	t.Run("bidirectional streaming", func(t *testing.T) {
		stream, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Lock-step: each answer must arrive before the next message is
		// sent, which proves nothing is buffered in either direction.
		for i := range 20 {
			msg := fmt.Sprintf("msg-%d", i)
			if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
				t.Fatal(err)
			}
			in, err := stream.Recv()
			if err != nil {
				t.Fatalf("recv %d: %v", i, err)
			}
			if string(in.GetPayload().GetBody()) != msg {
				t.Fatalf("got %q want %q", in.GetPayload().GetBody(), msg)
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("end of stream: %v", err)
		}
		if got := stream.Trailer().Get("x-messages"); len(got) != 1 || got[0] != "20" {
			t.Fatalf("trailer %v", stream.Trailer())
		}
	})
}
