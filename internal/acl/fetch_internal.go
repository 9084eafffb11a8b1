package acl

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Fetches of constants and of the process's state (HAProxy 2.6 section
// 7.3.2): typed constants, the date, the environment, the host name,
// random numbers and UUIDs.
func internalFetches() []fetchDef {
	return []fetchDef{
		{name: "bin", args: "s", out: tBin, fn: fetchConstBin, check: checkHexArg, doc: "a constant binary value written in hexadecimal"},
		{name: "ipv4", args: "s", out: tIP, fn: fetchConstIP, check: checkIPArg(true), doc: "a constant IPv4 address"},
		{name: "ipv6", args: "s", out: tIP, fn: fetchConstIP, check: checkIPArg(false), doc: "a constant IPv6 address"},
		{name: "meth", args: "s", out: tStr, fn: fetchConstStr, check: checkMethArg, doc: "a constant HTTP method"},
		{name: "env", args: "s", out: tStr, fn: fetchEnv, doc: "the process's environment variable <name>, read when the sample is taken; no value when unset"},
		{name: "hostname", out: tStr, fn: fetchHostname, doc: "the system's host name"},
		{name: "date", args: "IS", out: tInt, fn: fetchDate, check: checkDateArgs,
			doc: "the current date since the epoch plus <offset>, in <unit> s (default), ms or us"},
		{name: "date_us", out: tInt, fn: fetchDateUS, doc: "the microseconds of the current date"},
		{name: "rand", args: "I", out: tInt, fn: fetchRand, doc: "a random 32-bit integer, or one below <range>"},
		{name: "uuid", args: "I", out: tStr, fn: fetchUUID, check: checkUUIDArg, doc: "a random (version 4) UUID"},
		{name: "proc", out: tInt, fn: fetchOne, doc: "the process number: 1, as in HAProxy 2.6"},
	}
}

func checkHexArg(a *fetchArgs) error {
	b, err := hex.DecodeString(a.str[0])
	if err != nil {
		return fmt.Errorf("'%s' is not a valid hexadecimal string", a.str[0])
	}
	a.str[0] = string(b)
	return nil
}

func checkIPArg(v4 bool) func(a *fetchArgs) error {
	return func(a *fetchArgs) error {
		ip, err := netip.ParseAddr(a.str[0])
		if err != nil || ip.Is4() != v4 {
			return fmt.Errorf("'%s' is not a valid IPv%s address", a.str[0], map[bool]string{true: "4", false: "6"}[v4])
		}
		a.str[0] = ip.String()
		return nil
	}
}

func checkMethArg(a *fetchArgs) error {
	if a.str[0] == "" || strings.ContainsAny(a.str[0], " \t\r\n()<>@,;:\\\"/[]?={}") {
		return fmt.Errorf("'%s' is not a valid method", a.str[0])
	}
	return nil
}

func checkDateArgs(a *fetchArgs) error {
	a.num[1] = 1
	if a.n > 1 {
		switch a.str[1] {
		case "s":
		case "ms":
			a.num[1] = 1000
		case "us":
			a.num[1] = 1000000
		default:
			return fmt.Errorf("invalid unit '%s', expected 's', 'ms' or 'us'", a.str[1])
		}
	}
	return nil
}

func checkUUIDArg(a *fetchArgs) error {
	if a.n > 0 && a.num[0] != 4 {
		return fmt.Errorf("Unsupported UUID version: '%d'", a.num[0])
	}
	return nil
}

func fetchConstBin(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return sample{typ: tBin, s: a.str[0]}, cursor{}, fVal
}

func fetchConstIP(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	return ipSmp(netip.MustParseAddr(a.str[0])), cursor{}, fVal
}

func fetchEnv(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	v, ok := os.LookupEnv(a.str[0])
	if !ok {
		return sample{}, cursor{}, fNone
	}
	return strSmp(v), cursor{}, fVal
}

func fetchHostname(*Txn, *fetchArgs, cursor) (sample, cursor, fres) {
	h, err := os.Hostname()
	if err != nil {
		return sample{}, cursor{}, fNone
	}
	return strSmp(h), cursor{}, fVal
}

func fetchDate(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	now := time.Now()
	var v int64
	switch a.num[1] {
	case 1000:
		v = now.UnixMilli()
	case 1000000:
		v = now.UnixMicro()
	default:
		v = now.Unix()
	}
	return intSmp(v + a.num[0]), cursor{}, fVal
}

func fetchDateUS(*Txn, *fetchArgs, cursor) (sample, cursor, fres) {
	return intSmp(int64(time.Now().Nanosecond() / 1000)), cursor{}, fVal
}

func fetchRand(_ *Txn, a *fetchArgs, _ cursor) (sample, cursor, fres) {
	r := uint64(mrand.Uint32())
	if a.n > 0 {
		r = r * uint64(a.num[0]) >> 32 // HAProxy's scaling into [0, range)
	}
	return intSmp(int64(r)), cursor{}, fVal
}

func fetchUUID(*Txn, *fetchArgs, cursor) (sample, cursor, fres) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return sample{}, cursor{}, fNone
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	s := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", binary.BigEndian.Uint32(u[0:4]), u[4:6], u[6:8], u[8:10], u[10:16])
	return strSmp(s), cursor{}, fVal
}

func fetchOne(*Txn, *fetchArgs, cursor) (sample, cursor, fres) { return intSmp(1), cursor{}, fVal }
