package stats

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// InfoField is one field of "show info", at HAProxy 2.6's position and
// with its tags, so the plain, typed and JSON forms come from one table.
// Fields Gatehouse has no value for (SSL, pipes, pools, ...) are absent
// rather than reported as zeros; a field whose Get returns Empty is
// skipped, as HAProxy skips empty ones.
type InfoField struct {
	Pos    int
	Name   string
	Desc   string
	Origin Origin
	Nature Nature
	Scope  Scope
	Get    func(*Snapshot) Value
}

// InfoFields returns the table of "show info" fields in position order.
func InfoFields() []InfoField {
	in := func(f func(*Info) Value) func(*Snapshot) Value {
		return func(s *Snapshot) Value { return f(&s.Info) }
	}
	return []InfoField{
		{0, "Name", "Product name", OProduct, NOutput, SService, in(func(i *Info) Value {
			if i.Product == "" {
				return Str("Gatehouse")
			}
			return Str(i.Product)
		})},
		{1, "Version", "Product version", OProduct, NOutput, SService, in(func(i *Info) Value { return Str(i.Version) })},
		{2, "Release_date", "Date of latest source code update", OProduct, NOutput, SService,
			in(func(i *Info) Value { return onlyIf(i.ReleaseDate != "", Str(i.ReleaseDate)) })},
		{3, "Nbthread", "Number of started threads (global.nbthread)", OConfig, NGauge, SService,
			in(func(i *Info) Value { return U32(i.Nbthread) })},
		{4, "Nbproc", "Number of started worker processes (historical, always 1)", OConfig, NGauge, SService,
			in(func(*Info) Value { return U32(1) })},
		{5, "Process_num", "Relative worker process number (1)", OKey, NGauge, SProcess, processNum},
		{6, "Pid", "This worker process identifier for the system", OStatus, NGauge, SProcess,
			in(func(i *Info) Value { return U32(i.Pid) })},
		{7, "Uptime", "How long ago this worker process was started (days+hours+minutes+seconds)", OMetric, NDuration, SProcess,
			func(s *Snapshot) Value {
				sec := uptime(s)
				return Str(fmt.Sprintf("%dd %dh%02dm%02ds", sec/86400, sec%86400/3600, sec%3600/60, sec%60))
			}},
		{8, "Uptime_sec", "How long ago this worker process was started (seconds)", OMetric, NDuration, SProcess,
			func(s *Snapshot) Value { return U32(uptime(s)) }},
		{9, "Memmax_MB", "Worker process's hard limit on memory usage in MB (-m on command line)", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.MemMax >> 20) })},
		{13, "Ulimit-n", "Hard limit on the number of per-process file descriptors", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.UlimitN) })},
		{14, "Maxsock", "Hard limit on the number of per-process sockets", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.MaxSock) })},
		{15, "Maxconn", "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.MaxConn) })},
		{16, "Hard_maxconn", "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.MaxConn) })},
		{17, "CurrConns", "Current number of connections on this worker process", OMetric, NGauge, SProcess,
			in(func(i *Info) Value { return U32(i.CurrConns) })},
		{18, "CumConns", "Total number of connections on this worker process since started", OMetric, NCounter, SProcess,
			in(func(i *Info) Value { return U32(i.CumConns) })},
		{19, "CumReq", "Total number of requests on this worker process since started", OMetric, NCounter, SProcess,
			in(func(i *Info) Value { return U32(i.CumReq) })},
		{23, "Maxpipes", "Hard limit on the number of pipes for splicing, 0=unlimited", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(max(i.MaxPipes, 0)) })},
		{24, "PipesUsed", "Current number of pipes in use in this worker process", OMetric, NGauge, SProcess,
			in(func(i *Info) Value { return U32(i.PipesUsed) })},
		{25, "PipesFree", "Current number of allocated and available pipes in this worker process", OMetric, NGauge, SProcess,
			in(func(i *Info) Value { return U32(i.PipesFree) })},
		{26, "ConnRate", "Number of front connections created on this worker process over the last second", OMetric, NRate, SProcess,
			in(func(i *Info) Value { return U32(i.ConnRate) })},
		{27, "ConnRateLimit", "Hard limit for ConnRate (global.maxconnrate)", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.ConnRateLimit) })},
		{28, "MaxConnRate", "Highest ConnRate reached on this worker process since started (in connections per second)", OMetric, NMax, SProcess,
			in(func(i *Info) Value { return U32(i.MaxConnRate) })},
		{29, "SessRate", "Number of sessions created on this worker process over the last second", OMetric, NRate, SProcess,
			in(func(i *Info) Value { return U32(i.SessRate) })},
		{30, "SessRateLimit", "Hard limit for SessRate (global.maxsessrate)", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.SessRateLimit) })},
		// HAProxy 2.6 tags this maximum a rate (MRP), unlike MaxConnRate.
		{31, "MaxSessRate", "Highest SessRate reached on this worker process since started (in sessions per second)", OMetric, NRate, SProcess,
			in(func(i *Info) Value { return U32(i.MaxSessRate) })},
		{32, "SslRate", "Number of SSL connections created on this worker process over the last second", OMetric, NRate, SProcess,
			in(func(i *Info) Value { return U32(i.SSLRate) })},
		{33, "SslRateLimit", "Hard limit for SslRate (global.maxsslrate)", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.SSLRateLimit) })},
		{34, "MaxSslRate", "Highest SslRate reached on this worker process since started (in connections per second)", OMetric, NMax, SProcess,
			in(func(i *Info) Value { return U32(i.MaxSSLRate) })},
		{42, "CompressBpsIn", "Number of bytes submitted to the HTTP compressor in this worker process over the last second", OMetric, NRate, SProcess,
			in(func(i *Info) Value { return U32(i.CompBpsIn) })},
		{43, "CompressBpsOut", "Number of bytes emitted by the HTTP compressor in this worker process over the last second", OMetric, NRate, SProcess,
			in(func(i *Info) Value { return U32(i.CompBpsOut) })},
		{44, "CompressBpsRateLim", "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.CompBpsLim) })},
		{47, "Tasks", "Total number of tasks in the current worker process (active + sleeping)", OMetric, NGauge, SProcess,
			in(func(i *Info) Value { return U32(i.Tasks) })},
		{48, "Run_queue", "Total number of active tasks+tasklets in the current worker process", OMetric, NGauge, SProcess,
			in(func(i *Info) Value { return U32(i.RunQueue) })},
		{49, "Idle_pct", "Percentage of last second spent waiting in the current worker thread", OMetric, NAvg, SProcess,
			in(func(i *Info) Value { return onlyIf(i.IdlePct >= 0, U32(i.IdlePct)) })},
		{50, "node", "Node name (global.node)", OConfig, NOutput, SService, in(func(i *Info) Value { return Str(i.Node) })},
		{51, "description", "Node description (global.description)", OConfig, NOutput, SService,
			in(func(i *Info) Value { return onlyIf(i.Description != "", Str(i.Description)) })},
		{67, "Memmax_bytes", "Worker process's hard limit on memory usage in byes (-m on command line)", OConfig, NLimit, SProcess,
			in(func(i *Info) Value { return U32(i.MemMax) })},
		{70, "Start_time_sec", "Start time in seconds", OMetric, NDuration, SProcess,
			in(func(i *Info) Value { return onlyIf(!i.Start.IsZero(), U32(i.Start.Unix())) })},
	}
}

// uptime is the process's age in whole seconds at the snapshot.
func uptime(s *Snapshot) int64 {
	if s.Info.Start.IsZero() || !s.Now.After(s.Info.Start) {
		return 0
	}
	return int64(s.Now.Sub(s.Info.Start) / time.Second)
}

// InfoFormat selects a "show info" form.
type InfoFormat uint8

const (
	InfoPlain InfoFormat = iota // Name: value
	InfoTyped                   // pos.Name.process:tags:type:value
	InfoJSON                    // [{"field":{"pos":0,"name":"Name"},...}]
)

// WriteInfo writes "show info" in form f; desc appends each field's
// description (`:"..."`) to the plain and typed forms, as HAProxy does.
func WriteInfo(w io.Writer, snap *Snapshot, f InfoFormat, desc bool) error {
	bw := bufio.NewWriter(w)
	pn := processNum(snap)
	if f == InfoJSON {
		bw.WriteByte('[')
	}
	n := 0
	for _, fld := range InfoFields() {
		v := fld.Get(snap)
		if v.IsEmpty() {
			continue
		}
		switch f {
		case InfoJSON:
			if n > 0 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, `{"field":{"pos":%d,"name":"%s"},"processNum":%d,"tags":{"origin":"%s","nature":"%s","scope":"%s"},"value":{"type":"%s","value":`,
				fld.Pos, fld.Name, pn.U, fld.Origin, fld.Nature, fld.Scope, v.Type)
			writeJSONValue(bw, v)
			bw.WriteString("}}")
		case InfoTyped:
			bw.WriteString(strconv.Itoa(fld.Pos) + "." + fld.Name + "." + pn.String() + ":")
			bw.Write([]byte{fld.Origin.letter(), fld.Nature.letter(), fld.Scope.letter(), ':'})
			bw.WriteString(v.Type.String() + ":" + v.String())
		default:
			bw.WriteString(fld.Name + ": " + v.String())
		}
		if f != InfoJSON {
			if desc {
				bw.WriteString(`:"` + fld.Desc + `"`)
			}
			bw.WriteByte('\n')
		}
		n++
	}
	if f == InfoJSON {
		bw.WriteString("]\n")
	}
	return bw.Flush()
}
