package runtimeapi

import (
	"bufio"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/stats"
)

// WriteInfo writes the plain "show info": "Name: value" lines with
// HAProxy's field names, in its order, for the fields Gatehouse knows.
func WriteInfo(w *bufio.Writer, snap *stats.Snapshot) {
	_ = stats.WriteInfo(w, snap, stats.InfoPlain, false)
}

// ServerState is one line of "show servers state".
type ServerState struct {
	BackendID   int
	Backend     string
	ID          int
	Name        string
	Addr        string // IP without port; "-" when unresolved
	Port        int
	OpState     int // 0 stopped, 1 starting, 2 running, 3 stopping (HAProxy's SRV_ST_*)
	AdminState  int // HAProxy's SRV_ADMF_* bits: 0x01 forced maint, 0x04 config maint, 0x08 forced drain
	UWeight     int
	IWeight     int
	LastChange  time.Time
	CheckStatus int // HAProxy's HCHK_STATUS_* value (see CheckStatusCode)
	CheckResult int // 0 unknown, 1 neutral, 2 failed, 3 passed, 4 conditionally passed
	CheckHealth int
	CheckState  int // 0x02 configured, 0x04 enabled, 0x08 paused, 0x01 running
	FQDN        string
	SRVRecord   string // the SRV record the server follows; "" for none
	UseSSL      bool
	CheckPort   int    // "port" of the check; 0: the server's own
	CheckAddr   string // "addr" of the check; "": the server's own
	// Agent check ("agent-check"): its state bits (0x10 agent, with the
	// check bits), "agent-addr" ("": the check's or the server's) and
	// "agent-port".
	Agent      bool
	AgentState int
	AgentAddr  string
	AgentPort  int
}

// Server admin state bits and check state bits of "show servers state".
const (
	AdmForcedMaint    = 0x01
	AdmInheritedMaint = 0x02 // from the tracked server
	AdmConfigMaint    = 0x04
	AdmForcedDrain    = 0x08
	AdmInheritedDrain = 0x10 // from the tracked server

	ChkRunning    = 0x01
	ChkConfigured = 0x02
	ChkEnabled    = 0x04
	ChkPaused     = 0x08
	ChkAgent      = 0x10
)

// CheckStatusCode maps a check status name to HAProxy's HCHK_STATUS_*
// number and its result (CHK_RES_*), as "show servers state" prints them.
func CheckStatusCode(status string) (code, result int) {
	switch status {
	case "", "UNK":
		return 0, 0
	case "INI":
		return 1, 0
	case "HANA":
		return 4, 2
	case "SOCKERR":
		return 5, 2
	case "L4OK":
		return 6, 3
	case "L4TOUT":
		return 7, 2
	case "L4CON":
		return 8, 2
	case "L6OK":
		return 9, 3
	case "L6TOUT":
		return 10, 2
	case "L6RSP":
		return 11, 2
	case "L7TOUT":
		return 12, 2
	case "L7RSP":
		return 13, 2
	case "L7OK":
		return 15, 3
	case "L7OKC":
		return 16, 4
	case "L7STS":
		return 17, 2
	case "PROCERR":
		return 18, 2
	case "PROCTOUT":
		return 19, 2
	case "PROCOK":
		return 20, 3
	}
	return 0, 0
}

// ServersStateHeader is the column line of "show servers state" (HAProxy
// 2.6, format version 1).
const ServersStateHeader = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight " +
	"srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health " +
	"srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord " +
	"srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port"

// WriteServersState writes "show servers state": the version line "1",
// the column line, then one space-separated line per server.
func WriteServersState(w *bufio.Writer, list []ServerState, now time.Time) {
	w.WriteString("1\n" + ServersStateHeader + "\n")
	for _, s := range list {
		var since int64
		if !s.LastChange.IsZero() && now.After(s.LastChange) {
			since = int64(now.Sub(s.LastChange) / time.Second)
		}
		fqdn := s.FQDN
		if fqdn == "" {
			fqdn = "-"
		}
		addr := s.Addr
		if addr == "" {
			addr = "-"
		}
		checkAddr := s.CheckAddr
		if checkAddr == "" {
			checkAddr = "-"
		}
		// HAProxy 2.6's "addr" and "port" set the agent's address and
		// port as well as the check's, and it prints them so.
		srvrecord := s.SRVRecord
		if srvrecord == "" {
			srvrecord = "-"
		}
		agentAddr, agentPort := checkAddr, s.CheckPort
		if s.Agent {
			agentPort = s.AgentPort
			if s.AgentAddr != "" {
				agentAddr = s.AgentAddr
			}
		}
		fmt.Fprintf(w, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d 0 0 %s %d %s %s %d %s %s %d\n",
			s.BackendID, s.Backend, s.ID, s.Name, addr, s.OpState, s.AdminState, s.UWeight, s.IWeight,
			since, s.CheckStatus, s.CheckResult, s.CheckHealth, s.CheckState, s.AgentState, fqdn, s.Port, srvrecord,
			strconv.Itoa(b2i(s.UseSSL)), s.CheckPort, checkAddr, agentAddr, agentPort)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
