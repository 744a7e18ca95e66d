package history_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/webchatroom/chatroom/services/history"
)

func TestIndexTerms(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"会议", "会 会议 议"},
		{"明天开会议", "会 会议 天 天开 开 开会 明 明天 议"},
		{"你好，世界！", "世 世界 你 你好 好 界"},
		{"我在学Go语言", "go 在 在学 学 我 我在 言 语 语言"},
		{"Hello, World!", "hello p:hel p:hell p:wor p:worl world"},
		{"Kubernetes", "kubernetes p:kub p:kube p:kuber p:kubern p:kuberne p:kubernet p:kubernete"},
		{"ＡＢＣ１２３", "abc123 p:abc p:abc1 p:abc12"},
		{"ABC abc Abc", "abc"},
		{"go GO Go ｇｏ", "go"},
		{"明日の会議は十時からです", "か から す で です の の会 は は十 ら らで 会 会議 十 十時 日 日の 明 明日 時 時か 議 議は"},
		{"ﾐｰﾃｨﾝｸﾞ", "ィ ィン グ テ ティ ミ ミー ン ング ー ーテ"},
		{"안녕하세요 회의", "녕 녕하 세 세요 안 안녕 요 의 하 하세 회 회의"},
		{"🎉🎉 👍🏻 ❤️ 👨‍👩‍👧", ""},
		{"ok 👍 收到🙏", "ok 到 收 收到"},
		{"Straße STRASSE", "p:str p:stra p:stras p:strass strasse"},
		{"ΟΔΟΣ οδος", "p:οδο οδοσ"},
		{"café cafe\u0301", "café p:caf"},
		{"v1.29, don't e-mail me", "29 don e mail me p:mai t v1"},
		{"㍻元年", "元 元年 平 平成 年 成 成元"},
		{"" + strings.Repeat("a", 50), strings.Repeat("a", 40) + " p:aaa p:aaaa p:aaaaa p:aaaaaa p:aaaaaaa p:aaaaaaaa p:aaaaaaaaa p:aaaaaaaaaa"},
		{"  \n\t", ""},
	} {
		if got := strings.Join(history.IndexTerms(c.text), " "); got != c.want {
			t.Errorf("IndexTerms(%q)\n got %q\nwant %q", c.text, got, c.want)
		}
	}
}

func TestQueryTerms(t *testing.T) {
	str := func(ts []history.Term) string {
		parts := make([]string, len(ts))
		for i, t := range ts {
			parts[i] = t.Text
			if t.Prefix {
				parts[i] += "*"
			}
		}
		return strings.Join(parts, " ")
	}
	for _, c := range []struct{ q, want string }{
		{"会议", "会议"},
		{"会", "会"},
		{"开会议", "开会 会议"},
		{"会议 会议室", "会议 议室"},
		{"你好", "你好"},
		{"Go语言", "go 语言"},
		{"go", "go"},
		{"kube", "kube*"},
		{"KUBERNETES", "kubernetes*"},
		{"ｋｕｂｅｒｎｅｔｅｓ", "kubernetes*"},
		{"kubernetesx", "kubernetesx"},
		{"ＡＢＣ", "abc*"},
		{"abc", "abc*"},
		{"ab", "ab"},
		{"ﾐｰﾃｨﾝｸﾞ", "ミー ーテ ティ ィン ング"},
		{"회의", "회의"},
		{"🎉!!", ""},
		{"会议 🎉 kube", "会议 kube*"},
	} {
		if got := str(history.QueryTerms(c.q)); got != c.want {
			t.Errorf("QueryTerms(%q) = %q, want %q", c.q, got, c.want)
		}
	}
}

// A query finds a text exactly when the text's index terms hold each of
// its terms (the prefix term for a prefix word): what both stores do.
func TestQueryMatchesIndex(t *testing.T) {
	found := func(text, q string) bool {
		terms := map[string]bool{}
		for _, t := range history.IndexTerms(text) {
			terms[t] = true
		}
		qs := history.QueryTerms(q)
		for _, t := range qs {
			if !terms[t.Text] && !(t.Prefix && terms[t.PrefixTerm()]) {
				return false
			}
		}
		return len(qs) > 0
	}
	for _, c := range []struct {
		text, q string
		want    bool
	}{
		{"明天下午开会，别迟到", "开会", true},
		{"明天下午开会，别迟到", "会议", false},
		{"会议室订好了吗？", "会议", true},
		{"会议室订好了吗？", "会", true},
		{"开会议程发群里了", "开会议", true},
		{"开会了，会议室见", "开会议", true}, // pairs, not a phrase
		{"社会新闻看了吗", "会议", false},
		{"明日の会議は十時からです", "会议", false}, // 議 is not 议
		{"明日の会議は十時からです", "会議", true},
		{"ミーティングの資料", "ﾐｰﾃｨﾝｸﾞ", true},
		{"我在学Go语言", "Go语言", true},
		{"我在学Go语言", "go 语言", true},
		{"I'm going home", "go", false},
		{"Go 1.26 release notes", "go", true},
		{"golang 语言", "Go语言", false},
		{"Did you try the kubectl plugin?", "kube", true},
		{"Kubernetes upgrade tonight", "kubernetes", true},
		{"KUBERNETES", "ｋｕｂｅｒｎｅｔｅｓ", true},
		{"deployments are done", "deployment", true},
		{"deploy", "deployment", false},
		{"ＡＢＣ公司的合同", "abc", true},
		{"The abcd test suite", "ABC", true},
		{"STRASSE", "straße", true},
		{"안녕하세요 회의는 내일입니다", "회의", true},
		{"🎉🎉🎉", "🎉", false},
	} {
		if got := found(c.text, c.q); got != c.want {
			t.Errorf("%q in %q: %v, want %v", c.q, c.text, got, c.want)
		}
	}
}

func TestHighlights(t *testing.T) {
	// marked shows the ranges in the UTF-16 text, as JavaScript cuts it
	marked := func(text string, spans [][2]int) string {
		u := utf16.Encode([]rune(text))
		var b strings.Builder
		last := 0
		for _, s := range spans {
			b.WriteString(string(utf16.Decode(u[last:s[0]])) + "[" + string(utf16.Decode(u[s[0]:s[1]])) + "]")
			last = s[1]
		}
		b.WriteString(string(utf16.Decode(u[last:])))
		return b.String()
	}
	for _, c := range []struct{ text, q, want string }{
		{"明天开会议，会议室见", "会议", "明天开[会议]，[会议]室见"},
		{"明天开会议，会议室见", "开会议", "明天[开会议]，[会议]室见"},
		{"明天开会议", "会", "明天开[会]议"},
		{"我在学Go语言", "Go语言", "我在学[Go语言]"}, // touching ranges merge,
		{"Kubernetes and kubectl", "kube", "[Kube]rnetes and [kube]ctl"},
		{"KUBERNETES", "ｋｕｂｅｒｎｅｔｅｓ", "[KUBERNETES]"},
		{"ＡＢＣ公司 abcd", "abc", "[ＡＢＣ]公司 [abc]d"},
		{"🎉🎉 会议 🎉", "会议", "🎉🎉 [会议] 🎉"},
		{"𠮷野家的会议", "会议", "𠮷野家的[会议]"},
		{"ﾐｰﾃｨﾝｸﾞです", "ミーティング", "[ﾐｰﾃｨﾝｸﾞ]です"},
		{"㍻元年", "平成", "[㍻]元年"},
		{"Straße", "strasse", "[Straße]"},
		{"cafe\u0301 time", "café", "[cafe\u0301] time"},
		{"I'm going", "go", "I'm going"},
		{"", "会议", ""},
	} {
		got := history.Highlights(c.text, history.QueryTerms(c.q))
		if got == nil {
			t.Errorf("Highlights(%q, %q) is nil, not empty", c.text, c.q)
		}
		if m := marked(c.text, got); m != c.want {
			t.Errorf("Highlights(%q, %q) = %v: %q, want %q", c.text, c.q, got, m, c.want)
		}
	}
	// offsets count UTF-16 code units: 𠮷 is two
	if got := fmt.Sprint(history.Highlights("𠮷会议", history.QueryTerms("会议"))); got != "[[2 4]]" {
		t.Errorf("after an astral character: %s, want [[2 4]]", got)
	}
}
