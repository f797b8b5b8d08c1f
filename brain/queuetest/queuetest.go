// Package queuetest starts NATS JetStream servers inside a test process,
// for the tests of queue jobs (brain, query, the shell's fault test).
package queuetest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server starts one NATS server with JetStream in a temp directory (no
// cluster), stopped when the test ends, and returns its URL.
func Server(t testing.TB) string {
	t.Helper()
	_, url := Cluster(t, 1)
	return url
}

// Cluster starts n NATS servers with JetStream, routed into one cluster
// (one server: no cluster), stopped when the test ends. It returns them
// once the cluster has formed, with their client URLs joined by commas.
func Cluster(t testing.TB, n int) ([]*server.Server, string) {
	t.Helper()
	ports := make([]int, n)
	var routes []string
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	var servers []*server.Server
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "fosql", Host: "127.0.0.1", Port: ports[i]}
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
		s, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		t.Cleanup(s.Shutdown)
		servers = append(servers, s)
	}
	var urls []string
	deadline := time.Now().Add(30 * time.Second)
	for i, s := range servers {
		if !s.ReadyForConnections(30 * time.Second) {
			t.Fatalf("nats server %d not ready", i+1)
		}
		for n > 1 && (s.NumRoutes() < n-1 || !s.JetStreamIsCurrent()) {
			if time.Now().After(deadline) {
				t.Fatalf("the cluster did not form: %d routes", s.NumRoutes())
			}
			time.Sleep(100 * time.Millisecond)
		}
		urls = append(urls, s.ClientURL())
	}
	return servers, strings.Join(urls, ",")
}
