package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of master nodes, each a redis-server process
// on a loopback port, with the hash slots split evenly between them.
type Cluster struct {
	Nodes []*Server
	dir   string
}

// StartCluster starts a cluster of n masters for a test, which kills them
// at its end. Without redis-server installed the test is skipped, or fails
// under CI=true.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := LaunchCluster(n)
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip("redis-server is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	return c
}

// LaunchCluster starts n masters (n ≥ 1), assigns them the slots, makes
// them meet, and waits until the cluster is up. The caller kills it.
func LaunchCluster(n int) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "redistest-cluster")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	for i := range n {
		port, err := clusterPort()
		if err != nil {
			c.Kill()
			return nil, err
		}
		s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, args: []string{
			"--cluster-enabled", "yes", "--dir", dir,
			"--cluster-config-file", fmt.Sprintf("nodes-%d.conf", i),
			"--cluster-node-timeout", "5000",
		}}
		if err := s.start(); err != nil {
			c.Kill()
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
	}
	if err := c.form(); err != nil {
		c.Kill()
		return nil, err
	}
	return c, nil
}

// clusterPort returns a free port whose cluster bus port (+10000) is free
// too.
func clusterPort() (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			ln.Close()
			continue
		}
		bus, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+10000))
		ln.Close()
		if err != nil {
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, errors.New("redistest: no free port pair for a cluster node")
}

// form splits the 16384 slots between the nodes, introduces them to the
// first, and waits for every node to report the cluster ok.
func (c *Cluster) form() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const slots = 16384
	n := len(c.Nodes)
	for i, s := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
		lo, hi := i*slots/n, (i+1)*slots/n-1
		err := rdb.ClusterAddSlotsRange(ctx, lo, hi).Err()
		if err == nil && i > 0 {
			host, port, _ := net.SplitHostPort(c.Nodes[0].Addr)
			err = rdb.ClusterMeet(ctx, host, port).Err()
		}
		rdb.Close()
		if err != nil {
			return fmt.Errorf("redistest: forming the cluster: %w", err)
		}
	}
	for _, s := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: s.Addr})
		err := waitClusterOK(ctx, rdb, n)
		rdb.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func waitClusterOK(ctx context.Context, rdb *redis.Client, n int) error {
	want := fmt.Sprintf("cluster_known_nodes:%d", n)
	for {
		info, err := rdb.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: cluster not ready: %v %q", err, info)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Addrs returns the nodes' addresses, for redis.ClusterOptions.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr
	}
	return out
}

// Kill stops every node (by pid) and removes their files.
func (c *Cluster) Kill() {
	for _, s := range c.Nodes {
		s.Kill()
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
		c.dir = ""
	}
}
