// Package s3test gives tests S3-compatible storage to read media from: Fake,
// a small in-process server (httptest) that speaks the part of the S3
// protocol fosql uses and counts requests, and Weed, a real SeaweedFS
// server started from the binary that `make setup-seaweedfs` builds.
package s3test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fake is an in-process S3 server: path-style buckets and objects in
// memory, ListObjectsV2 with paging, GET with ranges, and an access-key
// check. It does not verify signatures.
type Fake struct {
	// URL is the endpoint, http://127.0.0.1:port.
	URL string
	// AccessKey, when set, is the only access key id accepted; requests
	// signed with another one get 403 InvalidAccessKeyId.
	AccessKey string
	// PageSize is the most keys one ListObjectsV2 answer holds (default
	// 1000), so tests can make a listing take several pages.
	PageSize int

	srv     *httptest.Server
	mu      sync.Mutex
	buckets map[string]map[string][]byte
	gets    map[string]int // GET requests per object key, ranged or not
	lists   int
	deny    atomic.Bool
}

// DenyReads makes every object GET answer 403 AccessDenied while listings
// still work, as for a key allowed to list but not to read (false undoes
// it).
func (f *Fake) DenyReads(deny bool) { f.deny.Store(deny) }

// NewFake starts a Fake with the given buckets; it stops when the test
// ends.
func NewFake(t testing.TB, buckets ...string) *Fake {
	t.Helper()
	f := &Fake{buckets: map[string]map[string][]byte{}, gets: map[string]int{}}
	for _, b := range buckets {
		f.buckets[b] = map[string][]byte{}
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

// Put stores an object.
func (f *Fake) Put(bucket, key string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.buckets[bucket] == nil {
		f.buckets[bucket] = map[string][]byte{}
	}
	f.buckets[bucket][key] = bytes.Clone(data)
}

// Delete removes an object.
func (f *Fake) Delete(bucket, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.buckets[bucket], key)
}

// Gets is the number of GET requests made for an object's bytes.
func (f *Fake) Gets(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets[key]
}

// Lists is the number of ListObjectsV2 requests answered.
func (f *Fake) Lists() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

// fakeError is S3's error document.
type fakeError struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	BucketName string `xml:",omitempty"`
	Key        string `xml:",omitempty"`
	Resource   string
	RequestID  string `xml:"RequestId"`
}

func (f *Fake) fail(w http.ResponseWriter, r *http.Request, status int, code, msg, bucket, key string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	xml.NewEncoder(w).Encode(fakeError{Code: code, Message: msg, BucketName: bucket, Key: key, Resource: r.URL.Path, RequestID: "fake"})
}

// accessKey reads the access key id from a SigV4 Authorization header.
func accessKey(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if f.AccessKey != "" && accessKey(r) != f.AccessKey {
		f.fail(w, r, http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", "", "")
		return
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	objs, ok := f.buckets[bucket]
	f.mu.Unlock()
	if !ok {
		f.fail(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist", bucket, "")
		return
	}
	q := r.URL.Query()
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		f.fail(w, r, http.StatusNotImplemented, "NotImplemented", "the fake only reads", bucket, key)
	case key == "" && q.Has("location"):
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`)
	case key == "":
		f.list(w, bucket, objs, q.Get("prefix"), q.Get("delimiter"), q.Get("continuation-token"))
	case f.deny.Load():
		f.fail(w, r, http.StatusForbidden, "AccessDenied", "Access Denied.", bucket, key)
	default:
		f.mu.Lock()
		data, ok := objs[key]
		if ok && r.Method == http.MethodGet {
			f.gets[key]++
		}
		f.mu.Unlock()
		if !ok {
			f.fail(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.", bucket, key)
			return
		}
		sum := md5.Sum(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), bytes.NewReader(data))
	}
}

// fakeListing is ListObjectsV2's answer.
type fakeListing struct {
	XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string
	Prefix                string
	Delimiter             string `xml:",omitempty"`
	KeyCount              int
	MaxKeys               int
	IsTruncated           bool
	NextContinuationToken string `xml:",omitempty"`
	Contents              []fakeObject
	CommonPrefixes        []fakePrefix
}

type fakeObject struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	StorageClass string
}

type fakePrefix struct{ Prefix string }

func (f *Fake) list(w http.ResponseWriter, bucket string, objs map[string][]byte, prefix, delim, token string) {
	f.mu.Lock()
	f.lists++
	var entries []string // keys, and common prefixes (ending in delim)
	seen := map[string]bool{}
	for k := range objs {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				k = k[:len(prefix)+i+len(delim)]
			}
		}
		if !seen[k] {
			seen[k] = true
			entries = append(entries, k)
		}
	}
	sizes := map[string]int64{}
	for _, k := range entries {
		sizes[k] = int64(len(objs[k]))
	}
	f.mu.Unlock()
	sort.Strings(entries)
	start := 0
	if token != "" {
		start, _ = strconv.Atoi(token)
	}
	page := f.PageSize
	if page <= 0 {
		page = 1000
	}
	end := min(start+page, len(entries))
	res := fakeListing{Name: bucket, Prefix: prefix, Delimiter: delim, MaxKeys: page}
	for _, k := range entries[min(start, end):end] {
		if delim != "" && strings.HasSuffix(k, delim) && sizes[k] == 0 {
			res.CommonPrefixes = append(res.CommonPrefixes, fakePrefix{k})
			continue
		}
		res.Contents = append(res.Contents, fakeObject{Key: k, LastModified: "2026-01-02T03:04:05.000Z", ETag: `"0"`, Size: sizes[k], StorageClass: "STANDARD"})
	}
	res.KeyCount = len(res.Contents) + len(res.CommonPrefixes)
	if end < len(entries) {
		res.IsTruncated = true
		res.NextContinuationToken = strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprint(w, xml.Header)
	xml.NewEncoder(w).Encode(res)
}
