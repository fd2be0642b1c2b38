package managedprocess

import "encoding/json"

// Codec turns messages into bytes and back, for members in other processes
// (child processes): the coordinator and every child it speaks to must use
// codecs of the same Name. Members that are goroutines pass values and never
// use it. A Codec must be safe for concurrent use.
type Codec[T any] interface {
	// Name identifies the encoding; a child whose codec has another name
	// refuses to serve.
	Name() string
	// Append appends the encoding of msg to dst and returns the result.
	Append(dst []byte, msg T) ([]byte, error)
	// Decode decodes b into msg. b is the message's own: the codec may keep
	// it in msg without copying.
	Decode(b []byte, msg *T) error
}

// JSON returns the default codec: encoding/json, for any T it can encode
// and decode; it needs no code generation.
func JSON[T any]() Codec[T] { return jsonCodec[T]{} }

type jsonCodec[T any] struct{}

func (jsonCodec[T]) Name() string { return "json" }

func (jsonCodec[T]) Append(dst []byte, msg T) ([]byte, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func (jsonCodec[T]) Decode(b []byte, msg *T) error { return json.Unmarshal(b, msg) }

// Bytes returns the codec for []byte messages: the payload is the message,
// with nothing around it, and a decoded message is the received bytes
// themselves, not a copy.
func Bytes() Codec[[]byte] { return bytesCodec{} }

type bytesCodec struct{}

func (bytesCodec) Name() string { return "bytes" }

func (bytesCodec) Append(dst []byte, msg []byte) ([]byte, error) { return append(dst, msg...), nil }

func (bytesCodec) Decode(b []byte, msg *[]byte) error {
	*msg = b
	return nil
}
