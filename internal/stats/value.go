package stats

import (
	"strconv"
	"strings"
)

// ValueType is the type of a field value, named as in HAProxy's typed output.
type ValueType uint8

const (
	TEmpty ValueType = iota // no value for this object: an empty CSV cell, absent from JSON
	TS32
	TS64
	TU32
	TU64
	TFlt
	TStr
)

// String is the type name of "show stat typed" and JSON: "s32", "u64", "str", ...
func (t ValueType) String() string {
	switch t {
	case TS32:
		return "s32"
	case TS64:
		return "s64"
	case TU32:
		return "u32"
	case TU64:
		return "u64"
	case TFlt:
		return "flt"
	case TStr:
		return "str"
	}
	return "empty"
}

// Value is one typed field value.
type Value struct {
	Type ValueType
	U    uint64  // TU32, TU64
	I    int64   // TS32, TS64
	F    float64 // TFlt
	S    string  // TStr
}

// Empty is the value of a field that does not apply.
func Empty() Value { return Value{} }

// U32 is an unsigned 32-bit value (negative inputs clamp to 0).
func U32[T ~int | ~int64 | ~uint32 | ~uint64](v T) Value {
	if v < 0 {
		v = 0
	}
	return Value{Type: TU32, U: uint64(v)}
}

// U64 is an unsigned 64-bit value.
func U64[T ~int | ~int64 | ~uint64](v T) Value {
	if v < 0 {
		v = 0
	}
	return Value{Type: TU64, U: uint64(v)}
}

// S32 is a signed 32-bit value.
func S32(v int64) Value { return Value{Type: TS32, I: v} }

// Str is a string value.
func Str(s string) Value { return Value{Type: TStr, S: s} }

// Flt is a floating point value.
func Flt(f float64) Value { return Value{Type: TFlt, F: f} }

// IsEmpty reports whether v has no value.
func (v Value) IsEmpty() bool { return v.Type == TEmpty }

// Float returns v as a number (0 for strings and empty values).
func (v Value) Float() float64 {
	switch v.Type {
	case TU32, TU64:
		return float64(v.U)
	case TS32, TS64:
		return float64(v.I)
	case TFlt:
		return v.F
	}
	return 0
}

// String formats v as HAProxy prints it in CSV; "" when empty.
func (v Value) String() string {
	switch v.Type {
	case TU32, TU64:
		return strconv.FormatUint(v.U, 10)
	case TS32, TS64:
		return strconv.FormatInt(v.I, 10)
	case TFlt:
		// "%f" with trailing zeros trimmed, as HAProxy's flt_trim does.
		s := strconv.FormatFloat(v.F, 'f', 6, 64)
		s = strings.TrimRight(s, "0")
		return strings.TrimSuffix(s, ".")
	case TStr:
		return v.S
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }
