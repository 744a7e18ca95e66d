package blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/webchatroom/chatroom/internal/apperr"
)

// S3Config says where an S3-compatible store is.
type S3Config struct {
	Endpoint  string // host:port
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	TLS       bool
}

// S3 keeps objects in one bucket of an S3-compatible server (MinIO).
type S3 struct {
	client *minio.Client
	bucket string
}

var _ Store = (*S3)(nil)

// OpenS3 connects to the endpoint and creates the bucket if it is missing.
func OpenS3(ctx context.Context, c S3Config) (*S3, error) {
	if c.Endpoint == "" || c.Bucket == "" {
		return nil, errors.New("s3: endpoint and bucket are required (--s3-endpoint, --s3-bucket)")
	}
	client, err := minio.New(c.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure: c.TLS,
		Region: c.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client: %w", err)
	}
	s := &S3{client: client, bucket: c.Bucket}
	exists, err := client.BucketExists(ctx, c.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", c.Endpoint, err)
	}
	if !exists {
		if err := client.MakeBucket(ctx, c.Bucket, minio.MakeBucketOptions{Region: c.Region}); err != nil {
			return nil, fmt.Errorf("s3 create bucket %s: %w", c.Bucket, err)
		}
	}
	return s, nil
}

// Put uploads the object.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	return nil
}

type s3Object struct {
	*minio.Object
	size int64
}

func (o s3Object) Size() int64 { return o.size }

// Get opens the object and checks it exists.
func (s *S3) Get(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.translate(err, key)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, s.translate(err, key)
	}
	return s3Object{Object: obj, size: st.Size}, nil
}

// Delete removes the object.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if err := s.translate(err, key); apperr.Code(err) != apperr.NotFound {
			return err
		}
	}
	return nil
}

// Ping checks the bucket is reachable.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("s3 ping: %w", err)
	}
	if !ok {
		return fmt.Errorf("s3 bucket %s is gone", s.bucket)
	}
	return nil
}

func (s *S3) translate(err error, key string) error {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey", "NotFound":
		return &apperr.Error{Code: apperr.NotFound, Message: "object not found", Err: err}
	}
	return fmt.Errorf("s3 %s: %w", key, err)
}
