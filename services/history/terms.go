package history

import (
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Search terms (DESIGN §8). A text is normalised (NFKC, so full-width
// ＡＢＣ is abc and half-width ｶﾀｶﾅ is カタカナ) and case-folded, then split:
//
//   - Han, Hiragana, Katakana and Hangul characters form runs; a run is
//     indexed as each of its characters plus every overlapping pair
//     (会议室 → 会 议 室 会议 议室), so a query of one character or of any
//     two adjacent ones finds it without a dictionary.
//   - Letters, digits and combining marks of other scripts form words
//     (Go语言 → go + the run 语言); a word is cut to maxTermRunes.
//   - Everything else — spaces, punctuation, symbols, emoji — separates
//     and is not searchable.
//
// A query is split the same way: a run of two or more characters becomes
// its pairs only (开会议 → 开会 会议), a lone character stays itself; a
// word of minPrefixRunes to maxPrefixRunes characters matches every word
// it begins (kube → kubernetes, kubectl), a shorter or longer one only
// itself (go is not good). Pairs carry no position, so 开会议 also finds a
// text with 开会 and 会议 apart: every query term must be present, not
// side by side.
//
// Prefixes are indexed as terms of their own: a word of n characters also
// has the terms p:<its first k characters> for minPrefixRunes ≤ k < n,
// k ≤ maxPrefixRunes. A prefix query is then two exact terms (the word or
// p:word), which both stores read in index order like any other, instead
// of a scan over every word that begins with it (FTS5's the* merges the
// hits of all those words before returning the first: 5 ms already at
// 20,000 messages, growing with every hit; a range of MongoDB's index
// gives no created_at order and must be sorted).

// maxTermRunes cuts long words (a pasted key, a run of letters) so one
// message cannot put arbitrarily long keys into the index.
const maxTermRunes = 40

// The query words that match as prefixes have minPrefixRunes to
// maxPrefixRunes characters.
const (
	minPrefixRunes = 3
	maxPrefixRunes = 10
)

// prefixTermPrefix marks the index's prefix terms (p:kube); text terms
// never hold a ':'.
const prefixTermPrefix = "p:"

// char is one character of the normalised, folded text and the bytes of
// the original text it came from (several characters may share them: ㍻
// is 平成).
type char struct {
	r          rune
	start, end int
}

// isCJK reports whether r is written without spaces between words and is
// therefore indexed by characters and pairs. The long-vowel mark ー is
// script Common but belongs inside Katakana words.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == 'ー'
}

// isWordChar reports whether r belongs in a word of a script with spaces.
// Variation selectors (emoji presentation) are marks but no part of words.
func isWordChar(r rune) bool {
	if unicode.IsLetter(r) || unicode.IsNumber(r) {
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Mc) && !unicode.Is(unicode.Variation_Selector, r)
}

// splitText calls word for each word and run for each CJK run of text, in
// the order they appear. The slices are reused: copy what is kept.
func splitText(text string, word, run func([]char)) {
	var it norm.Iter
	it.InitString(norm.NFKC, text)
	fold := cases.Fold()
	var cur []char
	curCJK := false
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if curCJK {
			run(cur)
		} else {
			word(cur)
		}
		cur = cur[:0]
	}
	var buf []byte
	for !it.Done() {
		start := it.Pos()
		seg := it.Next()
		end := it.Pos()
		if len(seg) == 1 && seg[0] < utf8.RuneSelf { // ASCII: fold by hand
			c := seg[0]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf[:0], c)
		} else {
			buf = fold.Bytes(seg)
		}
		for _, r := range string(buf) {
			switch {
			case isCJK(r):
				if !curCJK {
					flush()
				}
				curCJK = true
			case isWordChar(r):
				if curCJK {
					flush()
				}
				curCJK = false
			default:
				flush()
				continue
			}
			cur = append(cur, char{r: r, start: start, end: end})
		}
	}
	flush()
}

// wordTerm is a word as a term: its first maxTermRunes characters.
func wordTerm(w []char) string {
	return runesOf(w[:min(len(w), maxTermRunes)])
}

func runesOf(cs []char) string {
	b := make([]byte, 0, len(cs)*3)
	for _, c := range cs {
		b = utf8.AppendRune(b, c.r)
	}
	return string(b)
}

// IndexTerms returns the distinct terms a message text is found by,
// sorted.
func IndexTerms(text string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	splitText(text, func(w []char) {
		add(wordTerm(w))
		for k := minPrefixRunes; k < len(w) && k <= maxPrefixRunes; k++ {
			add(prefixTermPrefix + runesOf(w[:k]))
		}
	}, func(cs []char) {
		for i := range cs {
			add(string(cs[i].r))
			if i+1 < len(cs) {
				add(string([]rune{cs[i].r, cs[i+1].r}))
			}
		}
	})
	slices.Sort(out)
	return out
}

// Term is one term of a query: a message matches when it has Text as a
// term, or, for a Prefix term, a word beginning with Text (the index term
// PrefixTerm).
type Term struct {
	Text   string
	Prefix bool
}

// PrefixTerm is the index term of the words that begin with t.Text and
// are longer.
func (t Term) PrefixTerm() string { return prefixTermPrefix + t.Text }

// QueryTerms splits a search query into the terms every hit must have,
// distinct and in query order.
func QueryTerms(q string) []Term {
	var out []Term
	add := func(t Term) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	splitText(q, func(w []char) {
		add(Term{Text: wordTerm(w), Prefix: len(w) >= minPrefixRunes && len(w) <= maxPrefixRunes})
	}, func(cs []char) {
		if len(cs) == 1 {
			add(Term{Text: string(cs[0].r)})
			return
		}
		for i := 0; i+1 < len(cs); i++ {
			add(Term{Text: string([]rune{cs[i].r, cs[i+1].r})})
		}
	})
	return out
}

// Highlights returns where terms occur in text: [start, end) offsets in
// UTF-16 code units (what JavaScript strings count), sorted, overlapping
// and touching ranges merged. A prefix term marks the part of the word it
// matched.
func Highlights(text string, terms []Term) [][2]int {
	var words, cjk [][]rune
	var prefix []bool
	for _, t := range terms {
		r := []rune(t.Text)
		if len(r) > 0 && isCJK(r[0]) {
			cjk = append(cjk, r)
		} else {
			words, prefix = append(words, r), append(prefix, t.Prefix)
		}
	}
	var spans [][2]int // byte ranges of text
	splitText(text, func(w []char) {
		for i, t := range words {
			if n := matchWord(w, t, prefix[i]); n > 0 {
				spans = append(spans, [2]int{w[0].start, w[n-1].end})
			}
		}
	}, func(cs []char) {
		for _, t := range cjk {
			for i := 0; i+len(t) <= len(cs); i++ {
				if equalRunes(cs[i:i+len(t)], t) {
					spans = append(spans, [2]int{cs[i].start, cs[i+len(t)-1].end})
				}
			}
		}
	})
	return utf16Spans(text, mergeSpans(spans))
}

// matchWord returns how many characters of w the word term t matches:
// all of it when equal (as cut to maxTermRunes), len(t) when t is a
// prefix of w and may match as one, else 0.
func matchWord(w []char, t []rune, prefix bool) int {
	cut := w[:min(len(w), maxTermRunes)]
	switch {
	case len(cut) == len(t) && equalRunes(cut, t):
		return len(w)
	case prefix && len(t) < len(cut) && equalRunes(cut[:len(t)], t):
		return len(t)
	}
	return 0
}

func equalRunes(cs []char, t []rune) bool {
	for i, c := range cs {
		if c.r != t[i] {
			return false
		}
	}
	return true
}

func mergeSpans(spans [][2]int) [][2]int {
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var out [][2]int
	for _, s := range spans {
		if n := len(out); n > 0 && s[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], s[1])
			continue
		}
		out = append(out, s)
	}
	return out
}

// utf16Spans converts sorted byte ranges of text to UTF-16 offsets.
func utf16Spans(text string, spans [][2]int) [][2]int {
	out := make([][2]int, 0, len(spans))
	if len(spans) == 0 {
		return out
	}
	at := func(byteOff int, from, units int) (int, int) {
		for i, r := range text[from:] {
			if from+i >= byteOff {
				return from + i, units
			}
			if r >= 0x10000 {
				units += 2
			} else {
				units++
			}
		}
		return len(text), units
	}
	pos, units := 0, 0
	for _, s := range spans {
		var start int
		pos, start = at(s[0], pos, units)
		var end int
		pos, end = at(s[1], pos, start)
		units = end
		out = append(out, [2]int{start, end})
	}
	return out
}
