package main

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/hpo-dev/hpo/client_stubs/go/hpov1"
)

// pool is a few gRPC connections, shared round-robin by the workers. One HTTP/2
// connection carries every call over one TCP stream, read and written by one goroutine
// on each side and, in the C++ server, polled by one thread at a time: with 64 or more
// callers on it, that connection rather than the service can become the limit. A
// connection per worker is the other extreme, and no more realistic: real workers are
// separate processes with a connection each, but hundreds of connections from one
// client process only measure the client. So: min(workers, -conns) connections, 8 by
// default, with the workers spread over them. (On a 2-core machine, 1, 8 and 32
// connections gave the same throughput within noise at 64 and 256 workers: the server
// was the limit. Eight leaves headroom where it is not.)
type pool struct {
	conns []*grpc.ClientConn
	stubs []hpov1.HpoServiceClient
}

func dial(addr string, n int, opts ...grpc.DialOption) (*pool, error) {
	p := &pool{}
	// Plaintext unless opts say otherwise (a server's Dial options): later options win.
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	for range max(n, 1) {
		// grpc.NewClient never shares a transport between ClientConns, so each is a
		// TCP connection of its own (made lazily, during the warm-up).
		conn, err := grpc.NewClient(addr, opts...)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.conns = append(p.conns, conn)
		p.stubs = append(p.stubs, hpov1.NewHpoServiceClient(conn))
	}
	return p, nil
}

func (p *pool) stub(i int) hpov1.HpoServiceClient { return p.stubs[i%len(p.stubs)] }

func (p *pool) Close() {
	for _, c := range p.conns {
		c.Close()
	}
}

// rpcError names the call and gives the status code and message: any error aborts
// the run, and this is what the user sees.
func rpcError(call, experiment string, err error) error {
	s := status.Convert(err)
	return fmt.Errorf("%s on experiment %q: %s: %s", call, experiment, s.Code(), s.Message())
}
