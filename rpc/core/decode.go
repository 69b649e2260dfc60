package core

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The decoder walks the request bytes in place instead of unmarshalling
// them into interfaces: the body is checked once with json.Valid, and from
// then on the helpers below only split it into raw members and elements,
// which is all a call needs (method name, id to echo, positional or named
// raw parameters). Keys are matched case-sensitively and the first of
// duplicated keys wins, as in Core's UniValue (encoding/json would match
// "Method" and let the last duplicate win).
//
// Every helper bounds-checks as it goes, so that even on bytes that are
// not valid JSON it stops instead of panicking; the fuzz tests feed it
// arbitrary input.

// request is one decoded call.
type request struct {
	// id is the raw "id" value, nil when the member is absent (a JSON-RPC
	// 2.0 call without one is a notification).
	id []byte
	// v2 is set by "jsonrpc":"2.0"; "1.0" or no member means legacy.
	v2     bool
	method string
	// params is the raw array or object, nil when absent or null.
	params []byte
}

func (r *request) notification() bool { return r.v2 && r.id == nil }

// parseRequest decodes one call object the way Core's
// JSONRPCRequest::parse does, in the same order, so that an error carries
// the id and version parsed before it. obj must start with '{'.
func parseRequest(obj []byte) (request, *Error) {
	var req request
	var id, version, method, params []byte
	ok := eachMember(obj, func(key, val []byte) bool {
		switch {
		case id == nil && keyIs(key, "id"):
			id = val
		case version == nil && keyIs(key, "jsonrpc"):
			version = val
		case method == nil && keyIs(key, "method"):
			method = val
		case params == nil && keyIs(key, "params"):
			params = val
		}
		return true
	})
	if !ok {
		return req, &Error{Code: CodeInvalidRequest, Message: "Invalid Request object"}
	}
	if id != nil {
		req.id = compactID(id)
	}
	if version != nil && kindOf(version) != kindNull {
		if kindOf(version) != kindString {
			return req, &Error{Code: CodeInvalidRequest, Message: "jsonrpc field must be a string"}
		}
		switch s, _ := decodeString(version); s {
		case "1.0":
		case "2.0":
			req.v2 = true
		default:
			return req, &Error{Code: CodeInvalidRequest, Message: "JSON-RPC version not supported"}
		}
	}
	switch kindOf(method) {
	case kindNull:
		return req, &Error{Code: CodeInvalidRequest, Message: "Missing method"}
	case kindString:
		req.method, _ = decodeString(method)
	default:
		return req, &Error{Code: CodeInvalidRequest, Message: "Method must be a string"}
	}
	switch kindOf(params) {
	case kindNull:
	case kindArray, kindObject:
		req.params = params
	default:
		return req, &Error{Code: CodeInvalidRequest, Message: "Params must be an array or object"}
	}
	return req, nil
}

// compactID returns the id to echo: scalars as sent, objects and arrays
// without insignificant whitespace (Core re-serializes the id).
func compactID(id []byte) []byte {
	if k := kindOf(id); k != kindObject && k != kindArray {
		return id
	}
	var b bytes.Buffer
	if err := json.Compact(&b, id); err != nil {
		return []byte("null")
	}
	return b.Bytes()
}

// kind is a JSON value's type, named as Core's uvTypeName names it.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

func (k kind) String() string {
	return [...]string{"null", "bool", "number", "string", "array", "object"}[k]
}

// kindOf classifies a raw value by its first byte; nil (an absent member
// or argument) is null, like Core's NullUniValue.
func kindOf(raw []byte) kind {
	if len(raw) == 0 {
		return kindNull
	}
	switch raw[0] {
	case '"':
		return kindString
	case '{':
		return kindObject
	case '[':
		return kindArray
	case 't', 'f':
		return kindBool
	case 'n':
		return kindNull
	}
	return kindNumber
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"',
// or -1 if it does not end.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				if i = skipString(b, i); i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	// A number or literal runs to the next delimiter.
	start := i
	for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// eachMember calls fn with the raw key (between its quotes, escapes left
// as they are) and raw value of every member of the object obj, in order,
// until fn returns false. It reports false if obj is not an object.
func eachMember(obj []byte, fn func(key, val []byte) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return true
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return false
		}
		end := skipString(obj, i)
		if end < 0 {
			return false
		}
		key := obj[i+1 : end-1]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		vend := skipValue(obj, i)
		if vend < 0 {
			return false
		}
		if !fn(key, obj[i:vend]) {
			return true
		}
		i = skipSpace(obj, vend)
		if i >= len(obj) {
			return false
		}
		if obj[i] == '}' {
			return true
		}
		if obj[i] != ',' {
			return false
		}
		i = skipSpace(obj, i+1)
	}
	return false
}

// eachElement calls fn with every element of the array arr, in order,
// until fn returns false. It reports false if arr is not an array.
func eachElement(arr []byte, fn func(val []byte) bool) bool {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return false
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return true
	}
	for i < len(arr) {
		end := skipValue(arr, i)
		if end < 0 {
			return false
		}
		if !fn(arr[i:end]) {
			return true
		}
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return false
		}
		if arr[i] == ']' {
			return true
		}
		if arr[i] != ',' {
			return false
		}
		i = skipSpace(arr, i+1)
	}
	return false
}

// elements splits an array into its raw elements.
func elements(arr []byte) ([][]byte, bool) {
	var out [][]byte
	ok := eachElement(arr, func(v []byte) bool {
		out = append(out, v)
		return true
	})
	return out, ok
}

// keyIs compares a raw key with a name, decoding escapes only if the key
// has any (which no real client sends).
func keyIs(raw []byte, name string) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw) == name
	}
	s, ok := unescape(raw)
	return ok && s == name
}

// keyString decodes a raw key.
func keyString(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	s, _ := unescape(raw)
	return s
}

func unescape(inner []byte) (string, bool) {
	q := make([]byte, 0, len(inner)+2)
	q = append(append(append(q, '"'), inner...), '"')
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", false
	}
	return s, true
}

// decodeString decodes a raw JSON string value.
func decodeString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' || c >= 0x80 {
			// Escapes, and non-ASCII text that may not be valid UTF-8,
			// which encoding/json turns into U+FFFD.
			return unescape(inner)
		}
	}
	return string(inner), true
}

// The typed getters below read an argument that passed Core's type check
// (or one Core reads without checking, e.g. hash_or_height) the way
// UniValue's getters do: a wrong type is checkType's runtime error and a
// number that is not an integer in range is "JSON integer out of range",
// both RPC_MISC_ERROR.

func typeError(raw []byte, want kind) *Error {
	return rpcErr(CodeMisc, "JSON value of type %s is not of expected type %s", kindOf(raw), want)
}

func getString(raw []byte) (string, *Error) {
	if kindOf(raw) != kindString {
		return "", typeError(raw, kindString)
	}
	s, ok := decodeString(raw)
	if !ok {
		return "", typeError(raw, kindString)
	}
	return s, nil
}

func getBool(raw []byte) (bool, *Error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, typeError(raw, kindBool)
}

// getInt parses an integer of the given bit size the way std::from_chars
// does for Core's getInt<T>: decimal digits only, no fraction or exponent.
func getInt(raw []byte, bits int) (int64, *Error) {
	if kindOf(raw) != kindNumber {
		return 0, typeError(raw, kindNumber)
	}
	n, err := strconv.ParseInt(string(raw), 10, bits)
	if err != nil {
		return 0, errIntRange
	}
	return n, nil
}

func getUint(raw []byte, bits int) (uint64, *Error) {
	if kindOf(raw) != kindNumber {
		return 0, typeError(raw, kindNumber)
	}
	n, err := strconv.ParseUint(string(raw), 10, bits)
	if err != nil {
		return 0, errIntRange
	}
	return n, nil
}
