package processgroup

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestResetRoundIsZero sets every field of a round, recursively, to a value
// other than its zero, resets the round, and checks that each field is zero
// again, but for the kept buffers, which must be empty. A field added to
// round and forgotten in reset fails it.
func TestResetRoundIsZero(t *testing.T) {
	r := new(round[int])
	dirty(reflect.ValueOf(r).Elem())
	buffers := map[string]bool{"targets": true, "scratch": true, "wakers": true}
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if buffers[name] && v.Field(i).IsNil() {
			t.Fatalf("dirty left buffer %s nil", name)
		}
		if !buffers[name] && v.Field(i).IsZero() {
			t.Fatalf("dirty left field %s zero: teach dirty its kind", name)
		}
	}
	r.reset()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case buffers[name]:
			if f.Len() != 0 || f.Cap() == 0 {
				t.Errorf("buffer %s: len %d cap %d after reset, want empty and kept", name, f.Len(), f.Cap())
			}
		case !f.IsZero():
			t.Errorf("field %s is not zero after reset", name)
		}
	}
}

// dirty sets v, which is addressable, to a value other than its zero: one
// element for a slice, a fresh value for a pointer, one for a number, true
// for a bool, and every field of a struct, exported or not.
func dirty(v reflect.Value) {
	v = reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem() // settable even if unexported
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
	case reflect.Chan:
		v.Set(reflect.MakeChan(v.Type(), 0))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Array:
		if v.Len() > 0 {
			dirty(v.Index(0))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			dirty(v.Field(i))
		}
	}
}
