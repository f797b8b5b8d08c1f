package db

// This file is the one way fosql opens a sample's media: a local path or an
// object in S3-compatible storage named by an s3://bucket/key URL. Ingest,
// INSERT, the brain's image loading and the dashboard all call OpenMedia.
//
// The S3 client is github.com/minio/minio-go/v7. It was chosen over the AWS
// SDK v2 (service/s3) because:
//   - it is one module with a handful of small dependencies, where the SDK
//     needs a dozen modules (config, credentials, smithy-go, the internal
//     endpoint and checksum modules) for the same calls;
//   - GetObject returns an *Object that streams the body as an io.Reader and
//     is also an io.ReaderAt and io.Seeker (ranged requests), which is what
//     ingest (one pass: metadata and sha256 while streaming; TIFF reads its
//     directory in place) and the dashboard (http.ServeContent needs a
//     ReadSeeker) want, with no temporary file;
//   - ListObjects pages ListObjectsV2 by itself and hands back one channel
//     of keys in order;
//   - path-style addressing (http://host:8333/bucket/key), which SeaweedFS
//     and most local servers need, is one option (BucketLookupPath), and
//     credentials.NewEnvAWS reads the standard AWS_* variables.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Scheme is the prefix of a media reference that names an object in
// S3-compatible storage: s3://bucket/key.
const S3Scheme = "s3://"

// EnvS3Endpoint names the environment variable that, when set, overrides
// the S3 endpoint stored with every dataset (for a database copied to a
// machine that reaches the storage under another address).
const EnvS3Endpoint = "FOSQL_S3_ENDPOINT"

// DefaultS3Endpoint is the endpoint used for an s3:// reference when neither
// the dataset, FOSQL_S3_ENDPOINT, AWS_ENDPOINT_URL_S3 nor AWS_ENDPOINT_URL
// names one: Amazon S3 itself.
const DefaultS3Endpoint = "https://s3.amazonaws.com"

// ErrMediaStore reports that the object storage itself cannot serve a
// dataset's media: the endpoint is unreachable or malformed, the bucket does
// not exist, or the credentials are refused. Unlike a single missing object
// (which wraps fs.ErrNotExist), it concerns every sample, so a job that
// meets it stops instead of skipping sample after sample.
var ErrMediaStore = errors.New("object storage unavailable")

// Media is an open sample media file: a local file or an S3 object. Read
// streams it from the start; ReadAt and Seek reach any offset (for an
// object, by a ranged request). The caller closes it.
type Media interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	// Size is the length in bytes when the media was opened.
	Size() int64
	// ModTime is the file's modification time or the object's
	// Last-Modified time.
	ModTime() time.Time
}

// IsS3URL reports whether a media reference names an S3 object.
func IsS3URL(ref string) bool { return strings.HasPrefix(ref, S3Scheme) }

// ParseS3URL splits s3://bucket/key into bucket and key. The key may be
// empty (the whole bucket) only when allowPrefix is set, for a listing.
func ParseS3URL(ref string, allowPrefix bool) (bucket, key string, err error) {
	if !IsS3URL(ref) {
		return "", "", fmt.Errorf("%s: not an s3:// URL", ref)
	}
	rest := ref[len(S3Scheme):]
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%s: the URL names no bucket (write s3://bucket/key)", ref)
	}
	if !validBucket(bucket) {
		return "", "", fmt.Errorf("%s: %q is not a valid bucket name (3-63 lower-case letters, digits, '.' and '-')", ref, bucket)
	}
	if key == "" && !allowPrefix {
		return "", "", fmt.Errorf("%s: the URL names no object (write s3://bucket/key)", ref)
	}
	return bucket, key, nil
}

// validBucket applies the S3 bucket naming rules that matter for a URL.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for _, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '-' {
			return false
		}
	}
	return b[0] != '.' && b[0] != '-'
}

// ResolveS3Endpoint returns the endpoint an s3:// reference of a dataset
// whose stored endpoint is stored is read from: FOSQL_S3_ENDPOINT when set,
// else stored, else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, and finally
// DefaultS3Endpoint.
func ResolveS3Endpoint(stored string) string {
	for _, v := range []string{os.Getenv(EnvS3Endpoint), stored, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL")} {
		if v != "" {
			return v
		}
	}
	return DefaultS3Endpoint
}

// CheckS3Endpoint checks that an endpoint is an http:// or https:// URL
// with a host and nothing after it, as CREATE DATASET … WITH (endpoint =
// …) must give.
func CheckS3Endpoint(endpoint string) error {
	_, _, err := parseEndpoint(endpoint)
	return err
}

// parseEndpoint splits an endpoint URL into host[:port] and whether it
// uses TLS.
func parseEndpoint(endpoint string) (host string, secure bool, err error) {
	u, err := url.Parse(endpoint)
	if err != nil && !strings.Contains(endpoint, "://") {
		u, err = &url.URL{}, nil // reported below as a missing scheme
	}
	if err != nil {
		return "", false, fmt.Errorf("S3 endpoint %q: %w: %v", endpoint, ErrMediaStore, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("S3 endpoint %q: %w: it must start with http:// or https:// (for example http://127.0.0.1:8333)", endpoint, ErrMediaStore)
	case u.Host == "":
		return "", false, fmt.Errorf("S3 endpoint %q: %w: no host", endpoint, ErrMediaStore)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil:
		return "", false, fmt.Errorf("S3 endpoint %q: %w: give only scheme, host and port (the bucket goes in the s3:// URL)", endpoint, ErrMediaStore)
	}
	return u.Host, u.Scheme == "https", nil
}

// s3Clients keeps one client per endpoint and set of credentials, so
// connections are reused across samples and a changed environment (new
// credentials) gets a new client.
var s3Clients struct {
	sync.Mutex
	m map[s3ClientKey]*minio.Client
}

// s3ClientKey identifies a client: the endpoint and the AWS_* values it
// was made with.
type s3ClientKey struct {
	endpoint, id, secret, token, region string
}

// s3Client returns the client for an endpoint with the credentials and
// region of the standard AWS_* variables (anonymous when none are set).
func s3Client(endpoint string) (*minio.Client, error) {
	host, secure, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	k := s3ClientKey{endpoint: endpoint,
		id: os.Getenv("AWS_ACCESS_KEY_ID"), secret: os.Getenv("AWS_SECRET_ACCESS_KEY"),
		token: os.Getenv("AWS_SESSION_TOKEN"), region: os.Getenv("AWS_REGION")}
	if k.region == "" {
		k.region = os.Getenv("AWS_DEFAULT_REGION")
	}
	s3Clients.Lock()
	defer s3Clients.Unlock()
	if c := s3Clients.m[k]; c != nil {
		return c, nil
	}
	creds := credentials.NewStaticV4(k.id, k.secret, k.token)
	if k.id == "" || k.secret == "" {
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	}
	c, err := minio.New(host, &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       k.region,
		BucketLookup: minio.BucketLookupPath,
		// A few retries ride out a busy server; ten (the default) would
		// keep a user waiting on a wrong endpoint for many seconds.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 endpoint %q: %w: %v", endpoint, ErrMediaStore, err)
	}
	if s3Clients.m == nil {
		s3Clients.m = map[s3ClientKey]*minio.Client{}
	}
	s3Clients.m[k] = c
	return c, nil
}

// s3Error turns an error of the S3 client c into one that names the URL
// and the endpoint and wraps fs.ErrNotExist (a missing object), ErrMediaStore
// (the storage cannot serve the dataset) or the context's error.
func s3Error(ctx context.Context, c *minio.Client, op, ref, endpoint string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s %s: %w", op, ref, ctxErr)
	}
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return fmt.Errorf("%s %s: %w: cannot reach %s: %v", op, ref, ErrMediaStore, endpoint, err)
	}
	switch er.Code {
	case minio.NoSuchKey:
		// A GET answered without a body says only "not found": ask
		// whether the bucket is there before blaming the object.
		if bucket, _, perr := ParseS3URL(ref, true); perr == nil && c != nil {
			if ok, berr := c.BucketExists(ctx, bucket); berr == nil && !ok {
				return fmt.Errorf("%s %s: %w: no bucket %q at %s", op, ref, ErrMediaStore, bucket, endpoint)
			}
		}
		return fmt.Errorf("%s %s: no such object at %s: %w", op, ref, endpoint, fs.ErrNotExist)
	case minio.NoSuchBucket:
		return fmt.Errorf("%s %s: %w: no bucket %q at %s", op, ref, ErrMediaStore, er.BucketName, endpoint)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken":
		return fmt.Errorf("%s %s: %w: %s refused the credentials (%s: %s); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
			op, ref, ErrMediaStore, endpoint, er.Code, er.Message)
	}
	return fmt.Errorf("%s %s: %w: %s answered %s: %s", op, ref, ErrMediaStore, endpoint, er.Code, er.Message)
}

// OpenMedia opens a sample's media for reading: ref is a local path or an
// s3://bucket/key URL, read from the endpoint ResolveS3Endpoint(endpoint)
// gives, with the credentials of the standard AWS_* environment variables.
// A local file obeys OpenUserFile's rules (a regular file, never a blocking
// open). maxBytes > 0 refuses larger media with ErrFileTooLarge. Errors name
// the path or URL; a missing file or object wraps fs.ErrNotExist, and a
// store that cannot serve the object at all (bad endpoint, no such bucket,
// refused credentials) wraps ErrMediaStore. An object's body is streamed by
// Read; ctx bounds every request made for it, until Close.
func OpenMedia(ctx context.Context, ref, endpoint string, maxBytes int64) (Media, error) {
	if !IsS3URL(ref) {
		f, st, err := OpenUserFile(ref, maxBytes)
		if err != nil {
			return nil, err
		}
		return &fileMedia{File: f, st: st}, nil
	}
	bucket, key, err := ParseS3URL(ref, false)
	if err != nil {
		return nil, fmt.Errorf("open %w", err)
	}
	endpoint = ResolveS3Endpoint(endpoint)
	c, err := s3Client(endpoint)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ref, err)
	}
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Error(ctx, c, "open", ref, endpoint, err)
	}
	// Stat sends the GET; its body is then what Read streams.
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, s3Error(ctx, c, "open", ref, endpoint, err)
	}
	if maxBytes > 0 && info.Size > maxBytes {
		obj.Close()
		return nil, fmt.Errorf("open %s: %w: %d bytes, at most %d", ref, ErrFileTooLarge, info.Size, maxBytes)
	}
	return &s3Media{Object: obj, size: info.Size, mod: info.LastModified}, nil
}

// StatMedia returns the size and modification time of a sample's media
// without reading it (for an object, one HEAD request), under OpenMedia's
// rules and with its errors.
func StatMedia(ctx context.Context, ref, endpoint string, maxBytes int64) (int64, time.Time, error) {
	if !IsS3URL(ref) {
		st, err := os.Stat(ref)
		if err == nil {
			err = checkUserFile(ref, st.Mode(), st.Size(), maxBytes)
		}
		if err != nil {
			return 0, time.Time{}, err
		}
		return st.Size(), st.ModTime(), nil
	}
	bucket, key, err := ParseS3URL(ref, false)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("stat %w", err)
	}
	endpoint = ResolveS3Endpoint(endpoint)
	c, err := s3Client(endpoint)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("stat %s: %w", ref, err)
	}
	info, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return 0, time.Time{}, s3Error(ctx, c, "stat", ref, endpoint, err)
	}
	if maxBytes > 0 && info.Size > maxBytes {
		return 0, time.Time{}, fmt.Errorf("stat %s: %w: %d bytes, at most %d", ref, ErrFileTooLarge, info.Size, maxBytes)
	}
	return info.Size, info.LastModified, nil
}

// fileMedia is Media for a local file.
type fileMedia struct {
	*os.File
	st fs.FileInfo
}

func (m *fileMedia) Size() int64        { return m.st.Size() }
func (m *fileMedia) ModTime() time.Time { return m.st.ModTime() }

// s3Media is Media for an S3 object.
type s3Media struct {
	*minio.Object
	size int64
	mod  time.Time
}

func (m *s3Media) Size() int64        { return m.size }
func (m *s3Media) ModTime() time.Time { return m.mod }

// s3Listing lists the objects under an s3:// prefix in key order, paging
// ListObjectsV2; with recursive unset only the objects directly under the
// prefix (no deeper "/"). Each object goes to fn with its URL; fn's error
// stops the listing and is returned.
func s3Listing(ctx context.Context, prefixURL, endpoint string, recursive bool, fn func(ref string) error) error {
	bucket, prefix, err := ParseS3URL(prefixURL, true)
	if err != nil {
		return fmt.Errorf("list %w", err)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/" // a folder, not a key prefix: s3://b/a never lists s3://b/ab/…
	}
	endpoint = ResolveS3Endpoint(endpoint)
	c, err := s3Client(endpoint)
	if err != nil {
		return fmt.Errorf("list %s: %w", prefixURL, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing goroutine when fn stops early
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
		if obj.Err != nil {
			return s3Error(ctx, c, "list", S3Scheme+bucket+"/"+prefix, endpoint, obj.Err)
		}
		if strings.HasSuffix(obj.Key, "/") {
			continue // a "folder": a common prefix or a directory marker
		}
		if err := fn(S3Scheme + bucket + "/" + obj.Key); err != nil {
			return err
		}
	}
	return ctx.Err()
}
