package upstream

// first is "balance first": the first server in id order with a free slot
// takes the request, so servers fill up one after another (meant to be used
// with maxconn). Weights only matter as zero / non-zero.
type first struct {
	lbBase
}

func (f *first) sticky() bool { return false }

func (f *first) Pick(_ Key, exclude *Server) *Server {
	set := f.load()
	avoided := false
	for _, s := range set.live {
		if s == exclude {
			avoided = true
			continue
		}
		if s.TryAcquire() {
			return s
		}
	}
	if avoided && exclude.TryAcquire() {
		return exclude
	}
	return nil
}
