package acl

// didYouMean returns the candidate closest to word, or "" when none is close
// enough to be a plausible typo.
func didYouMean(word string, candidates []string) string {
	best, bestD := "", len(word)/3+2
	if bestD > 4 {
		bestD = 4
	}
	for _, c := range candidates {
		d := editDistance(word, c)
		if d < bestD || d == bestD && best != "" && commonPrefix(word, c) > commonPrefix(word, best) {
			best, bestD = c, d
		}
	}
	return best
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func suggestion(word string, candidates []string) string {
	if s := didYouMean(word, candidates); s != "" {
		return ", did you mean '" + s + "'?"
	}
	return ""
}

// editDistance is the optimal string alignment distance (Levenshtein with
// adjacent transpositions).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	var rows [3][65]int
	prev2, prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
