package stick

// A rate counter over a period, HAProxy's freq_ctr: the count of the
// current period plus the previous period's count weighted by the part of
// the period still ahead, so the rate slides rather than drops to zero at
// each period boundary. Three words of an entry's data: the start of the
// current period (ms), its count, and the previous period's count.

// rateAdd adds n to the counter at d[0:3] at time now (ms).
func rateAdd(d []uint64, period, now int64, n uint64) {
	rateRoll(d, period, now)
	d[1] += n
}

// rateRoll starts a new period when the current one is over: the count
// becomes the previous one when exactly one period passed, and both are
// cleared after two or more (HAProxy's update_freq_ctr_period).
func rateRoll(d []uint64, period, now int64) {
	start := int64(d[0])
	if d[0] == 0 && d[1] == 0 && d[2] == 0 {
		d[0] = uint64(now)
		return
	}
	el := now - start
	if el < period {
		return
	}
	if el < 2*period {
		d[2] = d[1]
		d[0] = uint64(start + period)
	} else {
		d[2] = 0
		d[0] = uint64(now)
	}
	d[1] = 0
}

// rateRead returns curr + prev*(period-elapsed)/period, as
// read_freq_ctr_period does, without changing the counter.
func rateRead(d []uint64, period, now int64) uint64 {
	curr, prev, start := d[1], d[2], int64(d[0])
	el := now - start
	if el >= period {
		prev, curr = curr, 0
		el -= period
		if el >= period {
			return 0
		}
	}
	if el < 0 {
		el = 0
	}
	return curr + prev*uint64(period-el)/uint64(period)
}
