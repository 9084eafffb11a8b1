package stick

// Inherit lends the entries a session tracks (tcp-request connection and
// session rules) to one of its streams' trackers, as HAProxy's stream_new
// copies sess->stkctr into the stream: the stream's fetches and counters
// reach them, a stream's track-scN finds such a slot in use, and the
// stream's Release leaves them to the session.
func (k *Tracker) Inherit(from *Tracker) {
	for i := range from.s {
		if from.s[i].e != nil && k.s[i].e == nil {
			k.s[i] = tracked{t: from.s[i].t, e: from.s[i].e, inherited: true}
		}
	}
}

// CountRequest counts an HTTP request (http_req_cnt, http_req_rate) on
// every entry tracked, as HAProxy's stream_inc_http_req_ctr does once a
// request is parsed: with inherited slots, each request of a connection.
func (k *Tracker) CountRequest() { k.count(HTTPReqCnt, HTTPReqRate, 1) }
