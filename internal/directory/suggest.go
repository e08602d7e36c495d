package directory

import (
	"strings"
	"unicode/utf8"
)

// distance is the optimal string alignment distance between a and b: the
// edits (insert, delete, replace, swap two neighbours) that turn one into
// the other. Typing mistakes are mostly these.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return max(len(ra), len(rb)) // too long to be a typo of a name
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range cur {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// tolerance is how many edits still make a suggestion for text: one for a
// short word, up to three for a long one.
func tolerance(text string) int {
	return max(1, min(3, utf8.RuneCountInString(text)/3))
}

// closest returns the candidate within tolerance of text, the nearest
// first; for keys of the file.
func closest(text string, candidates []string) (string, bool) {
	text = strings.ToLower(text)
	best, bestDist := "", -1
	for _, c := range candidates {
		if d := distance(text, c); d <= tolerance(text) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best, bestDist >= 0
}

// uniquePrefix returns the one destination whose name starts with text, of
// three characters or more.
func uniquePrefix(text string, dests []Destination) (string, bool) {
	if utf8.RuneCountInString(text) < 3 {
		return "", false
	}
	found := ""
	for _, d := range dests {
		if strings.HasPrefix(d.Name, text) {
			if found != "" {
				return "", false
			}
			found = d.Name
		}
	}
	return found, found != ""
}
