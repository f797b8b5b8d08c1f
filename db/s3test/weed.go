package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// WeedVersion is the SeaweedFS module version `make setup-seaweedfs`
// builds.
const WeedVersion = "v0.0.0-20261109003541-7506e5f91cd6"

// Credentials the Weed server accepts (its only identity).
const (
	WeedAccessKey = "fosqltest"
	WeedSecretKey = "fosqltest-secret-key"
)

// WeedBinary returns the weed binary to run: $FOSQL_WEED, else the one
// `make setup-seaweedfs` caches; "" when there is none.
func WeedBinary() string {
	if p := os.Getenv("FOSQL_WEED"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "fosql", "seaweedfs", WeedVersion, "weed")
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p
	}
	return ""
}

// Weed is a real SeaweedFS server (master, volume, filer and S3 gateway in
// one `weed server` process) on free ports in a temporary directory, with
// one identity (WeedAccessKey, WeedSecretKey).
type Weed struct {
	// URL is the S3 endpoint, http://127.0.0.1:port.
	URL    string
	client *minio.Client
	cmd    *exec.Cmd
}

// StartWeed starts a Weed server for the test and stops it when the test
// ends. It skips the test with a message when no weed binary is found.
func StartWeed(t testing.TB) *Weed {
	t.Helper()
	bin := WeedBinary()
	if bin == "" {
		t.Skip("no SeaweedFS binary: run `make setup-seaweedfs` (or set FOSQL_WEED to a weed binary) to run the S3 tests against a real server")
	}
	w, err := startWeed(bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// startWeed starts weed server with its data under dir and waits until
// its S3 gateway answers.
func startWeed(bin, dir string) (*Weed, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "s3.json")
	identity := fmt.Sprintf(`{"identities":[{"name":"fosql","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","List","Tagging","Write"]}]}`,
		WeedAccessKey, WeedSecretKey)
	if err := os.WriteFile(conf, []byte(identity), 0o600); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "weed.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "-dir="+data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port="+strconv.Itoa(ports[0]), "-volume.port="+strconv.Itoa(ports[1]),
		"-filer.port="+strconv.Itoa(ports[2]), "-s3", "-s3.port="+strconv.Itoa(ports[3]),
		"-s3.config="+conf, "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.volumeSizeLimitMB=64")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	log.Close()
	w := &Weed{URL: fmt.Sprintf("http://127.0.0.1:%d", ports[3]), cmd: cmd}
	w.client, err = minio.New(fmt.Sprintf("127.0.0.1:%d", ports[3]), &minio.Options{
		Creds:        credentials.NewStaticV4(WeedAccessKey, WeedSecretKey, ""),
		BucketLookup: minio.BucketLookupPath, Region: "us-east-1",
	})
	if err != nil {
		w.Stop()
		return nil, err
	}
	// Ready when a bucket can be made and an object written: the S3
	// gateway answers before the filer and volume server are ready.
	deadline := time.Now().Add(90 * time.Second)
	made := false
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if !made {
			err = w.client.MakeBucket(ctx, "fosql-ready", minio.MakeBucketOptions{})
			if code := minio.ToErrorResponse(err).Code; err == nil || code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
				made, err = true, nil
			}
		}
		if made {
			_, err = w.client.PutObject(ctx, "fosql-ready", "probe", bytes.NewReader([]byte("ok")), 2, minio.PutObjectOptions{})
		}
		cancel()
		if err == nil {
			return w, nil
		}
		if time.Now().After(deadline) {
			w.Stop()
			tail, _ := os.ReadFile(filepath.Join(dir, "weed.log"))
			if len(tail) > 2000 {
				tail = tail[len(tail)-2000:]
			}
			return nil, fmt.Errorf("SeaweedFS did not become ready in 90 s: %v\n%s", err, tail)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Stop ends the server.
func (w *Weed) Stop() {
	if w.cmd != nil && w.cmd.Process != nil {
		w.cmd.Process.Kill()
		w.cmd.Wait()
		w.cmd = nil
	}
}

// MakeBucket creates a bucket.
func (w *Weed) MakeBucket(t testing.TB, bucket string) {
	t.Helper()
	if err := w.client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", bucket, err)
	}
}

// Put stores an object.
func (w *Weed) Put(t testing.TB, bucket, key string, data []byte) {
	t.Helper()
	if _, err := w.client.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Delete removes an object.
func (w *Weed) Delete(t testing.TB, bucket, key string) {
	t.Helper()
	if err := w.client.RemoveObject(context.Background(), bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("delete s3://%s/%s: %v", bucket, key, err)
	}
}

// freePorts finds n free TCP ports on 127.0.0.1 whose port+10000 is free
// too (SeaweedFS puts each service's gRPC port there).
func freePorts(n int) ([]int, error) {
	var ports []int
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n && tries < 200; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		if p+10000 > 65535 {
			l.Close()
			continue
		}
		g, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000))
		if err != nil {
			l.Close()
			continue
		}
		held = append(held, l, g)
		ports = append(ports, p)
	}
	if len(ports) < n {
		return nil, fmt.Errorf("could not find %d free port pairs", n)
	}
	return ports, nil
}
